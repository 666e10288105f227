"""The original tutorial, as a plain script: the seed baseline the benchmark times.

Import TensorFlow, load MNIST, scale and flatten, Dense(10, sigmoid), adam,
sparse categorical cross-entropy, 5 epochs at batch 32, evaluate.
"""

import tensorflow as tf  # noqa: F401  (the tutorial imports it first; its start-up is part of the cost)
from tensorflow import keras

import mnist_course

(x_train, y_train), (x_test, y_test) = mnist_course.load_mnist()
x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="sigmoid")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}")
