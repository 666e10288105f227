"""The model builder: the two ways of writing the output layer (no training here)."""

import pytest

from mnist_course import SEED_MODEL, build_model

LOGITS_MODEL = SEED_MODEL.replace(output_activation="linear", from_logits=True)


def test_the_tutorial_model_has_a_sigmoid_layer_and_a_named_loss():
    model = build_model(SEED_MODEL)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert model.loss == "sparse_categorical_crossentropy"


def test_from_logits_builds_a_linear_layer_and_a_loss_that_takes_logits():
    model = build_model(LOGITS_MODEL)
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert model.loss.get_config()["from_logits"] is True
    # Same seed, same starting weights as the tutorial's model: the chapter compares the two.
    for mine, theirs in zip(model.get_weights(), build_model(SEED_MODEL).get_weights()):
        assert (mine == theirs).all()


@pytest.mark.parametrize("changes", [dict(output_activation="softmax"), dict(loss="categorical_crossentropy")])
def test_from_logits_refuses_an_activation_or_another_loss(changes):
    with pytest.raises(ValueError, match="from_logits"):
        build_model(LOGITS_MODEL.replace(**changes))
