"""Recurrent layers on data the packages ship: MNIST-1D with the paper's bidirectional GRU of 6 units."""
import numpy as np
import pytest
from conftest import load_example

pytest.importorskip("mnist1d")


@pytest.mark.slow
def test_mnist1d_gru_reaches_the_papers_accuracy_median_of_three_seeds():
    example = load_example("mnist1d_gru")
    split = example.data()
    accuracies = [example.train(seed, split=split) for seed in range(3)]
    assert np.median(accuracies) >= 0.89, accuracies
