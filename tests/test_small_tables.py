"""`deltaprop train` with its defaults holds its own against scikit-learn's MLP on small tables.

The target (issue: real tables): on each built-in small table, the mean test score of
`deltaprop train --data NAME --seed S` over seeds 0–4 is at least scikit-learn's
`make_pipeline(StandardScaler(), MLPClassifier/MLPRegressor(max_iter=2000))` mean over 20 random
80/20 splits, minus 0.02 — scikit-learn measured here, in the same run.
"""
import contextlib
import io
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from deltaprop.cli import main  # noqa: E402


def deltaprop_score(name: str, seed: int, tmp_path) -> float:
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["train", "--data", name, "--seed", str(seed), "--quiet", "--out", str(tmp_path / str(seed))]) == 0
    return float(re.search(r"^test (accuracy|r2)\s+(-?[0-9.]+)", printed.getvalue(), re.MULTILINE).group(2))


def sklearn_score(name: str, split: int) -> float:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    bunch = getattr(datasets, f"load_{name}")()
    X_train, X_test, y_train, y_test = train_test_split(bunch.data, bunch.target, test_size=0.2, random_state=split)
    estimator = (MLPRegressor if name == "diabetes" else MLPClassifier)(max_iter=2000, random_state=split)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_pipeline(StandardScaler(), estimator).fit(X_train, y_train).score(X_test, y_test)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes"])
def test_defaults_score_at_least_scikit_learn_minus_two_points(name, tmp_path):
    ours = np.mean([deltaprop_score(name, seed, tmp_path) for seed in range(5)])
    theirs = np.mean([sklearn_score(name, split) for split in range(20)])
    assert ours >= theirs - 0.02, f"{name}: deltaprop {ours:.3f}, scikit-learn {theirs:.3f}"
