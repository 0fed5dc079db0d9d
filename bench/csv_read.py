"""Reading CSV files: deltaprop's checked reader against pandas.read_csv, on wide, tall and gzipped tables.

deltaprop reads the structure with Python's csv module (so that it can check every row and name lines) and
types all cells in one pass; pandas parses in C. The ratio says what the checks cost.

    python bench/csv_read.py            # writes the "Reading CSV files" section of bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from common import write_section

from deltaprop.datasets.csvfile import read_csv


def _tables(folder: str) -> dict:
    rng = np.random.default_rng(0)
    tables = {}
    names = [f"c{i}" for i in range(100_000)]
    rows = [",".join(f"{v:.2f}" for v in rng.normal(size=len(names))) for _ in range(5)]
    tables["100,000 columns × 5 rows"] = ",".join(names) + "\n" + "\n".join(rows) + "\n"
    X = rng.normal(size=(200_000, 8))
    colours = rng.choice(["red", "green", "blue"], len(X))
    lines = [",".join(f"{v:.4f}" for v in row) + f",{c}" for row, c in zip(X, colours)]
    tables["200,000 rows × 9 columns (one text)"] = ",".join(f"x{i}" for i in range(8)) + ",colour\n" + \
        "\n".join(lines) + "\n"
    paths = {}
    for index, (name, text) in enumerate(tables.items()):
        paths[name] = os.path.join(folder, f"t{index}.csv")
        with open(paths[name], "w") as handle:
            handle.write(text)
    gz = os.path.join(folder, "tall.csv.gz")
    with gzip.open(gz, "wt") as handle:
        handle.write(tables["200,000 rows × 9 columns (one text)"])
    paths["the same, gzipped"] = gz
    return paths


def _median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for name, path in _tables(folder).items():
            ours, theirs = [], []
            for _ in range(args.repeats):          # alternating, so that both see the same machine
                ours.append(_median_seconds(lambda: read_csv(path), 1))
                theirs.append(_median_seconds(lambda: pd.read_csv(path), 1))
            mine, other = statistics.median(ours), statistics.median(theirs)
            size = os.path.getsize(path) / 1e6
            rows.append(f"| {name} | {size:.1f} | {mine:.2f} | {other:.2f} | {mine / other:.2f} |")
            print(rows[-1], flush=True)
    text = (f"## Reading CSV files (bench/csv_read.py)\n\n{time.strftime('%Y-%m-%d')}, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, pandas {pd.__version__}; seconds, median "
            f"of {args.repeats} reads, the two readers alternating. deltaprop checks every row's field count, quotes "
            "left open, line numbers and cell types; pandas parses in C.\n\n"
            "| table | MB | deltaprop s | pandas s | deltaprop / pandas |\n|---|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n")
    if not args.no_write:
        write_section("## Reading CSV files", text)


if __name__ == "__main__":
    main()
