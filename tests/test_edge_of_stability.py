"""Cohen et al. (2021) on MNIST-1D: under full-batch gradient descent λ_max rises to 2/η and stays there
(±10%) while the loss keeps falling, not monotonically. The run is examples/edge_of_stability.py."""
import numpy as np
import pytest
from conftest import load_example

pytest.importorskip("mnist1d")
pytest.importorskip("scipy")


@pytest.mark.slow
def test_sharpness_rises_to_two_over_eta_and_stays_within_ten_percent_for_two_learning_rates():
    example = load_example("edge_of_stability")
    data = example.mnist1d_5000()
    for limit in example.LIMITS:
        history = example.train(2 / limit, data=data)
        steps, _, sharpness = example.measured(history)
        ratio = sharpness / limit
        np.testing.assert_allclose(np.array(history["stability"], dtype=float)[steps - 1], ratio, rtol=1e-12)
        lowest = int(np.argmin(ratio))        # after the first steps' fall: progressive sharpening from here
        assert ratio[lowest] < 0.9, f"2/η = {limit}: λ_max never was well below the edge"
        reached = lowest + int(np.argmax(ratio[lowest:] >= 0.97))
        assert ratio[reached] >= 0.97, f"2/η = {limit}: λ_max never reached the edge ({ratio.max():.3f})"
        at_edge = ratio[reached:]
        assert len(at_edge) >= 8, "too few measures at the edge of stability"
        assert ((at_edge > 0.9) & (at_edge < 1.1)).all(), (limit, at_edge.round(3))
        loss = np.array(history["loss"])
        after = loss[steps[reached] - 1:]
        assert after[-1] < after[0]                      # the loss keeps falling …
        assert (np.diff(after) > 0).any()                # … but not monotonically
