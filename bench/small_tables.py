"""Small tables: `deltaprop train` with its defaults against scikit-learn's MLP, test scores.

deltaprop: the command with no option but --data (and --seed 0…4), its stratified 80/20 test split,
score = the printed test accuracy (classification) or test R² (regression), mean over the 5 seeds.
scikit-learn: make_pipeline(StandardScaler(), MLPClassifier/MLPRegressor(max_iter=2000, random_state=s))
on 20 random 80/20 splits (train_test_split(random_state=s)), the mean test score. The target
the issue sets: deltaprop ≥ scikit-learn − 0.02 on every table.

Tables: the built-in iris, wine, breast_cancer and diabetes, and two CSVs written from tables shipped
in mlxtend: auto-mpg (regression of mpg; its car_name column is an identifier, which deltaprop leaves
out and scikit-learn is not given) and Boston housing (regression of the median value).

    python bench/small_tables.py      # prints the table and writes its section of bench/RESULTS.md
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import write_section  # noqa: E402

SEEDS = range(5)
SPLITS = range(20)
AUTO_MPG = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year", "origin", "car_name",
            "mpg"]
BOSTON = ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat", "medv"]


def packaged_csvs(folder: str) -> dict:
    """auto-mpg.csv and boston.csv, with header rows, from mlxtend's data files; name → (path, task)."""
    import mlxtend

    data = Path(mlxtend.__file__).parent / "data" / "data"
    auto = gzip.decompress((data / "autompg.csv.gz").read_bytes()).decode()
    boston = (data / "boston_housing.csv").read_text()
    paths = {}
    for name, header, text in (("auto-mpg", AUTO_MPG, auto), ("boston", BOSTON, boston)):
        path = os.path.join(folder, f"{name}.csv")
        Path(path).write_text(",".join(header) + "\n" + text)
        paths[name] = (path, "regression")
    return paths


def deltaprop_score(data: str, seed: int) -> float:
    from deltaprop.cli import main

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()) as printed:
        code = main(["train", "--data", data, "--seed", str(seed), "--quiet", "--out", os.path.join(out, "run")])
    text = printed.getvalue()
    if code != 0:
        raise RuntimeError(f"deltaprop train --data {data} failed ({code}):\n{text}")
    return float(re.search(r"^test (accuracy|r2)\s+(-?[0-9.]+)", text, re.MULTILINE).group(2))


def sklearn_score(X, y, task: str, split: int) -> float:
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=split)
    estimator = (MLPClassifier if task == "classification" else MLPRegressor)(max_iter=2000, random_state=split)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_pipeline(StandardScaler(), estimator).fit(X_train, y_train).score(X_test, y_test)


def arrays(data: str):
    """X, y for scikit-learn: the built-in's arrays, or the CSV's numeric columns (the last one the target)."""
    import pandas as pd
    from sklearn import datasets

    if data in ("iris", "wine", "breast_cancer", "diabetes"):
        bunch = getattr(datasets, f"load_{data}")()
        return bunch.data, bunch.target
    frame = pd.read_csv(data).select_dtypes("number")
    return frame.iloc[:, :-1].to_numpy(), frame.iloc[:, -1].to_numpy()


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tables = {name: (name, "regression" if name == "diabetes" else "classification")
                  for name in ("iris", "wine", "breast_cancer", "diabetes")}
        tables.update(packaged_csvs(folder))
        for name, (data, task) in tables.items():
            started = time.perf_counter()
            ours = [deltaprop_score(data, seed) for seed in SEEDS]
            X, y = arrays(data)
            theirs = [sklearn_score(X, y, task, split) for split in SPLITS]
            metric = "accuracy" if task == "classification" else "R²"
            row = (name, metric, ours, float(np.mean(ours)), float(np.mean(theirs)))
            rows.append(row)
            print(f"{name}: deltaprop {np.round(ours, 3)} mean {row[3]:.3f}; scikit-learn mean {row[4]:.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    lines = ["## Small tables: deltaprop train's defaults vs scikit-learn's MLP (bench/small_tables.py)", "",
             f"{time.strftime('%Y-%m-%d')}; test score on a held-out 20%. deltaprop: `deltaprop train --data NAME "
             "--seed S` with every other setting at its default, seeds 0–4 (its stratified split). scikit-learn: "
             "`make_pipeline(StandardScaler(), MLPClassifier/MLPRegressor(max_iter=2000))`, 20 random 80/20 "
             "splits. Target: deltaprop ≥ scikit-learn − 0.02.", "",
             "| table | score | deltaprop, seeds 0–4 | deltaprop mean | scikit-learn mean | difference |",
             "|---|---|---|---:|---:|---:|"]
    for name, metric, ours, mean, theirs in rows:
        lines.append(f"| {name} | {metric} | {', '.join(f'{v:.3f}' for v in ours)} | {mean:.3f} | {theirs:.3f} | "
                     f"{mean - theirs:+.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("## Small tables", text)


if __name__ == "__main__":
    main()
