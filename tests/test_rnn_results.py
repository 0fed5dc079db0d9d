"""Recurrent layers on data the packages ship: MNIST-1D with the paper's bidirectional GRU of 6 units."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mnist1d")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist1d_gru.py"


@pytest.mark.slow
def test_mnist1d_gru_reaches_the_papers_accuracy_median_of_three_seeds():
    spec = importlib.util.spec_from_file_location("mnist1d_gru", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    split = example.data()
    accuracies = [example.train(seed, split=split) for seed in range(3)]
    assert np.median(accuracies) >= 0.89, accuracies
