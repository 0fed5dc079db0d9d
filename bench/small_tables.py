"""Small tables: `deltaprop train` with its defaults against scikit-learn's MLP, on the very same splits.

deltaprop: the command with no option but --data and --seed S (S = 0…9): its split (stratified for classes),
its defaults, score = the printed test accuracy (classification) or test R² (regression).
scikit-learn: the same training and test rows (deltaprop's split, found again with the same seed), through
a pipeline that preprocesses as deltaprop does — numbers: SimpleImputer(median, add_indicator) and
StandardScaler; text: a "missing" category and OneHotEncoder(handle_unknown="ignore") — and
MLPClassifier/MLPRegressor(max_iter=2000, random_state=S), every other setting at its default.
Target (issue: real tables): deltaprop within 0.02 accuracy / 0.05 R² of scikit-learn, or better, on every table.

Tables: the built-in iris, wine, breast_cancer and diabetes; auto-mpg and Boston housing from mlxtend; the
penguins of palmerpenguins (missing values); and tables of under 100 rows from statsmodels — statecrime,
ccard, scotland, spector, stackloss, heart, longley — written to CSV with the dataset's own target last.
Columns deltaprop leaves out (identifiers) are not given to scikit-learn either.

    pip install -e '.[bench]'        # statsmodels and palmerpenguins come with the bench extra
    python bench/small_tables.py     # prints the table and writes its section of bench/RESULTS.md
"""
from __future__ import annotations

import argparse
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

AUTO_MPG = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year", "origin", "car_name",
            "mpg"]
BOSTON = ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat", "medv"]
#: statsmodels datasets of under 100 rows: name → (target column, task)
STATSMODELS = {"statecrime": ("murder", "regression"), "ccard": ("AVGEXP", "regression"),
               "scotland": ("YES", "regression"), "spector": ("GRADE", "classification"),
               "stackloss": ("STACKLOSS", "regression"), "heart": ("survival", "regression"),
               "longley": ("TOTEMP", "regression")}


def tables(folder: str) -> dict:
    """name → (the --data argument, task): built-ins by name, the others as CSVs written to ``folder``."""
    found = {name: (name, "regression" if name == "diabetes" else "classification")
             for name in ("iris", "wine", "breast_cancer", "diabetes")}
    import mlxtend

    data = Path(mlxtend.__file__).parent / "data" / "data"
    for name, header, text in (("auto-mpg", AUTO_MPG, gzip.decompress((data / "autompg.csv.gz").read_bytes()).decode()),
                               ("boston", BOSTON, (data / "boston_housing.csv").read_text())):
        path = os.path.join(folder, f"{name}.csv")
        Path(path).write_text(",".join(header) + "\n" + text)
        found[name] = (path, "regression")
    try:
        from palmerpenguins import load_penguins

        penguins = load_penguins().drop(columns=["year"])
        path = os.path.join(folder, "penguins.csv")
        penguins[[c for c in penguins.columns if c != "species"] + ["species"]].to_csv(path, index=False)
        found["penguins"] = (path, "classification")
    except ImportError:
        print("palmerpenguins is not installed: penguins left out", file=sys.stderr)
    try:
        import importlib

        for name, (target, task) in STATSMODELS.items():
            frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
            frame = frame.drop(columns=[c for c in ("state", "censors") if c in frame.columns])
            path = os.path.join(folder, f"{name}.csv")
            frame[[c for c in frame.columns if c != target] + [target]].to_csv(path, index=False)
            found[name] = (path, task)
    except ImportError:
        print("statsmodels is not installed: its tables left out", file=sys.stderr)
    return found


def deltaprop_score(data: str, seed: int, options=()) -> tuple[float, object]:
    """The test score `deltaprop train` prints, and the run's model file (for its preprocessing)."""
    import deltaprop as dp
    from deltaprop.cli import main

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()) as printed:
        code = main(["train", "--data", data, "--seed", str(seed), "--quiet", *options,
                     "--out", os.path.join(out, "run")])
        model = dp.load(os.path.join(out, "run", "model.safetensors")) if code == 0 else None
    text = printed.getvalue()
    if code != 0:
        raise RuntimeError(f"deltaprop train --data {data} failed ({code}):\n{text}")
    return float(re.search(r"^test (accuracy|r2)\s+(-?[0-9.]+)", text, re.MULTILINE).group(2)), model


def sklearn_score(data: str, task: str, seed: int, pre) -> float:
    """scikit-learn's MLP on deltaprop's own split of ``data`` for ``seed`` (its columns, as deltaprop used them)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from deltaprop import datasets

    table = datasets.load(data)
    train, test = datasets.held_out_rows(table, task=task, seed=seed)
    features = table.features.rename(columns=str)[pre.feature_columns]
    text = [c for c in pre.feature_columns if c in pre.categories]
    numeric = [c for c in pre.feature_columns if c not in pre.categories]
    features = features.astype({c: object for c in text})
    for column in text:
        features[column] = features[column].replace("", "(missing)")
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("text", OneHotEncoder(handle_unknown="ignore"), text)])
    estimator = (MLPClassifier if task == "classification" else MLPRegressor)(max_iter=2000, random_state=seed)
    y = table.target.to_numpy()
    if task == "regression":
        y = y.astype(np.float64)
    else:
        y = y.astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = make_pipeline(columns, estimator).fit(features.iloc[train], y[train])
        return float(pipeline.score(features.iloc[test], y[test]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--only", nargs="*", help="these tables only")
    parser.add_argument("--option", action="append", default=[], help="an option for deltaprop train (to try)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (data, task) in tables(folder).items():
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            ours, theirs = [], []
            for seed in range(args.seeds):
                score, model = deltaprop_score(data, seed, [o for option in args.option for o in option.split()])
                ours.append(score)
                theirs.append(sklearn_score(data, task, seed, model.preprocessing))
            n_rows = datasets_rows(data)
            rows.append((name, n_rows, task, float(np.mean(ours)), float(np.mean(theirs)), ours, theirs))
            print(f"{name} ({n_rows} rows): deltaprop {np.mean(ours):.3f} {np.round(ours, 2)}; scikit-learn "
                  f"{np.mean(theirs):.3f} {np.round(theirs, 2)} ({time.perf_counter() - started:.0f} s)", flush=True)
    tolerance = {"classification": 0.02, "regression": 0.05}
    lines = ["## Small tables: deltaprop train's defaults vs scikit-learn's MLP (bench/small_tables.py)", "",
             f"{time.strftime('%Y-%m-%d')}; test accuracy (classes) or R² (numbers), mean over seeds 0–{args.seeds - 1}, "
             "both on deltaprop's own split for each seed (20% held out, stratified for classes). deltaprop: "
             "`deltaprop train --data TABLE --seed S`, every other setting at its default. scikit-learn: the same "
             "rows and columns through SimpleImputer(median, add_indicator) + StandardScaler / OneHotEncoder and "
             "MLPClassifier/MLPRegressor(max_iter=2000, random_state=S). Target: within 0.02 accuracy / 0.05 R² "
             "of scikit-learn, or better.", "",
             "| table | rows | score | deltaprop | scikit-learn | difference | target met |",
             "|---|---:|---|---:|---:|---:|---|"]
    for name, n_rows, task, mine, other, _, _ in rows:
        met = mine >= other - tolerance[task]
        lines.append(f"| {name} | {n_rows} | {'accuracy' if task == 'classification' else 'R²'} | {mine:.3f} | "
                     f"{other:.3f} | {mine - other:+.3f} | {'yes' if met else '**no**'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write and not args.option:
        write_section("## Small tables", text)


def datasets_rows(data: str) -> int:
    from deltaprop import datasets

    return datasets.load(data).n_samples


if __name__ == "__main__":
    main()
