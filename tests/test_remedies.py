"""Vanishing gradients and their remedy: a deep sigmoid MLP on digits with and without BatchNorm."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import deltaprop as dp


@pytest.mark.slow
def test_batchnorm_rescues_a_deep_sigmoid_network():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    accuracy = {}
    for normalization in (None, "batchnorm"):
        model = dp.mlp([64] + [64] * 10 + [10], activation="sigmoid", init="glorot_uniform",
                       normalization=normalization, seed=0)
        model.fit(X_train, y_train, loss=dp.CrossEntropy(), optimizer=dp.SGD(lr=0.1), epochs=20, batch_size=32,
                  seed=0, verbose=0)
        accuracy[normalization] = np.mean(model.predict(X_test).argmax(axis=1) == y_test)
    assert accuracy[None] <= 0.2, accuracy            # chance is 0.1
    assert accuracy["batchnorm"] >= 0.90, accuracy
