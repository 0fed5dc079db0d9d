"""The adding problem over 50 steps: a tanh RNN's δ vanishes through time and it stays at the baseline; a GRU
and an LSTM learn the task. examples/adding_problem.py is the run."""
import numpy as np
import pytest
from conftest import load_example

import deltaprop as dp


@pytest.mark.slow
def test_a_plain_rnn_fails_where_a_gru_and_an_lstm_learn():
    example = load_example("adding_problem")
    baseline = example.baseline()
    assert 0.14 < baseline < 0.18
    rnn, _, rnn_mse = example.train("RNN")
    assert rnn_mse > 0.8 * baseline                               # no better than predicting the mean
    X, y = example.adding(200, seed=2)
    findings = dp.diagnose(rnn, X, y, "mse")
    assert [f.kind for f in findings if f.layer == 0] == ["vanishing_through_time"]
    for name in ("GRU", "LSTM"):
        _, _, mse = example.train(name)
        assert mse < 0.02 * baseline, (name, mse)
    norms = rnn.layers[0].delta_norms_through_time()
    assert norms[0] < 1e-3 * norms[-1] and np.all(np.isfinite(norms))
