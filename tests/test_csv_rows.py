"""CSV rows are never silently dropped (issue: reliability, class 4), and a seeded fuzzer compares the reader with
pandas: whenever deltaprop reads a table, pandas reads the same rows and values; whenever pandas refuses one,
deltaprop refuses it too, naming a line.
"""
import re

import numpy as np
import pytest

from conftest import run_cli

pd = pytest.importorskip("pandas")

from deltaprop.datasets.csvfile import read_csv  # noqa: E402
from deltaprop.errors import DataError  # noqa: E402


def test_a_stray_quote_is_refused_at_the_line_where_it_opened(tmp_path):
    rows = [f"{1 + i * 0.01:.3f},{60 + i},{'blue' if i % 2 else 'red'},{'yes' if i % 3 else 'no'}" for i in range(40)]
    rows[12] = '1.493,67,blue,"yes'
    (tmp_path / "pets.csv").write_text("size,weight,colour,likes\n" + "\n".join(rows) + "\n")
    code, out, err = run_cli("train", "--data", "pets.csv", "--out", "run", cwd=tmp_path)
    assert code == 2
    assert err == ("deltaprop: error: pets.csv: line 14: a quoted field opens here and is never closed (the file ends "
                   "inside it); close the quote, or remove the stray '\"'\n")
    with pytest.raises(Exception):                      # pandas refuses it as well
        pd.read_csv(tmp_path / "pets.csv")


def test_unicode_line_separators_and_form_feeds_inside_cells_are_read_as_pandas_reads_them(tmp_path):
    text = "name,x,y\na\u2028b,1,0\nc\x0cd,2,1\ne\x85f,3,0\ng,4,1\n"
    (tmp_path / "odd.csv").write_text(text, encoding="utf-8")
    data = read_csv(str(tmp_path / "odd.csv"))
    expected = pd.read_csv(tmp_path / "odd.csv")
    assert data.frame["name"].tolist() == expected["name"].tolist() == ["a\u2028b", "c\x0cd", "e\x85f", "g"]
    assert list(data.lines) == [2, 3, 4, 5]


def test_a_stray_quote_never_makes_predict_write_fewer_rows(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    frame = pd.DataFrame(np.round(np.random.default_rng(0).normal(5, 1, size=(40, 4)), 2),
                         columns=["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"])
    lines = frame.to_csv(index=False).splitlines()
    lines[5] = lines[5][:-4] + '"' + lines[5][-4:]
    (tmp_path / "new.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run_cli("predict", "run/model.safetensors", "--data", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert code == 2 and "new.csv: line 6: a quoted field opens here and is never closed" in err
    assert not (tmp_path / "p.csv").exists()


# ------------------------------------------------------------------------------- the fuzzer
WORDS = ["red", "green", "blue", "cat", "dog", "a b", "x-y", "Ünïcode", "naïve", "tab\tin", "semi;colon"]


def _cell(rng, kind: str) -> str:
    if kind == "int":
        return str(int(rng.integers(-1000, 1000)))
    if kind == "float":
        value = rng.normal() * 10 ** int(rng.integers(-3, 4))
        return rng.choice([f"{value:.3f}", f"{value:.6g}", f"{value:e}", f" {value:.2f} "])
    word = str(rng.choice(WORDS))
    choice = rng.integers(8)
    if choice == 0:
        return f'"{word}, with a comma"'
    if choice == 1:
        return f'"{word}\nover two lines"'
    if choice == 2:
        return f'"say ""{word}"""'
    if choice == 3:
        return f"{word}\u2028{word}"
    if choice == 4:
        return f"{word}\x85{word}"
    return word


def _table(rng) -> str:
    """A random CSV text: typed columns, quoting, blank lines, CRLF, a BOM — and now and then a fault: a stray
    quote, a missing cell, a ragged row, an unclosed quote at the end."""
    n_columns, n_rows = int(rng.integers(2, 7)), int(rng.integers(3, 25))
    kinds = [str(rng.choice(["int", "float", "text"])) for _ in range(n_columns)]
    lines = [",".join(f"col{i}" for i in range(n_columns))]
    for _ in range(n_rows):
        lines.append(",".join(_cell(rng, kind) for kind in kinds))
        if rng.random() < 0.05:
            lines.append("")
    fault = rng.integers(10)
    if fault == 0:                       # a stray quote somewhere
        row = int(rng.integers(1, len(lines)))
        lines[row] = lines[row] + '"'
    elif fault == 1:                     # a missing cell
        row = int(rng.integers(1, len(lines)))
        if lines[row]:
            lines[row] = lines[row] + ",extra"
    elif fault == 2:
        lines.append('1,"never closed')
    ending = "\r\n" if rng.random() < 0.3 else "\n"
    text = ending.join(lines) + (ending if rng.random() < 0.8 else "")
    return ("\ufeff" if rng.random() < 0.1 else "") + text


def _same(ours, theirs) -> None:
    assert list(ours.columns) == [str(c) for c in theirs.columns]
    assert len(ours) == len(theirs)
    for name in ours.columns:
        mine, other = ours[name], theirs[name]
        if mine.dtype.kind in "if":
            np.testing.assert_allclose(mine.to_numpy(dtype=float), other.to_numpy(dtype=float), rtol=0, atol=0)
        else:
            assert [str(v).strip() for v in mine] == [str(v).strip() for v in other], name


def test_csv_fuzzer_compared_with_pandas(tmp_path):
    rng = np.random.default_rng(20261129)
    path = tmp_path / "fuzz.csv"
    read, refused, both_refused = 0, 0, 0
    for case in range(400):
        text = _table(rng)
        path.write_bytes(text.encode("utf-8"))
        try:
            theirs = pd.read_csv(path, keep_default_na=False, skip_blank_lines=True)
            pandas_error = None
        except Exception as exc:  # noqa: BLE001 - pandas's own tokenizer errors
            theirs, pandas_error = None, exc
        try:
            ours = read_csv(str(path))
        except DataError as exc:
            assert re.search(r"line \d+|column '", str(exc)), (case, str(exc))
            refused += 1
            both_refused += pandas_error is not None
            continue
        assert pandas_error is None, (case, text, pandas_error)       # pandas refuses: so must deltaprop
        _same(ours.frame, theirs)
        read += 1
    assert read > 150 and refused > 40 and both_refused > 10, (read, refused, both_refused)
