"""Real and awkward tables through the real ``deltaprop`` command: a wrong result never exits 0.

Every case runs the installed command in a subprocess and checks the exit code, the one line it
prints, and that nothing was written when it refuses.
"""
import gzip
import re

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from conftest import packaged_file, run_cli  # noqa: E402


def refused(tmp_path, *args, message):
    """The command exits 2 with one line matching ``message`` and writes no run folder."""
    code, out, err = run_cli("train", "--quiet", *args, cwd=tmp_path)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("deltaprop: error: "), err
    assert re.search(message, err), err
    assert "Traceback" not in err and ".partial" not in err and ".tmp" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    return err


def auto_mpg_csv(path, rows=None):
    """mlxtend's auto-mpg (shipped without a header) with a header row, car_name among the features."""
    text = gzip.decompress(open(packaged_file("mlxtend", "data", "data", "autompg.csv.gz"), "rb").read()).decode()
    lines = text.splitlines()[:rows]
    header = "cylinders,displacement,horsepower,weight,acceleration,model_year,origin,car_name,mpg"
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- 1. rows with more fields than the header
def test_sklearn_wine_data_csv_with_a_short_header_is_refused(tmp_path):
    wine = packaged_file("sklearn", "datasets", "data", "wine_data.csv")
    refused(tmp_path, "--data", wine, message=r"wine_data.csv: line 2 has 14 fields but the header has 5$")


def test_rows_longer_than_the_header_never_become_an_index(tmp_path):
    (tmp_path / "xy.csv").write_text("x,y\n1,2,0\n3,4,1\n")
    refused(tmp_path, "--data", "xy.csv", message="xy.csv: line 2 has 3 fields but the header has 2")


# ---------------------------------------------------------------- 3. identifier and high-cardinality columns
@pytest.mark.slow
def test_identifier_text_columns_are_left_out_with_a_notice(tmp_path):
    auto_mpg_csv(tmp_path / "auto.csv")
    code, out, err = run_cli("train", "--data", "auto.csv", "--quiet", "--epochs", "30", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert re.search(r"^note: column 'car_name' left out: \d+ distinct values in \d+ rows, like an identifier "
                     r"\(--keep car_name to one-hot encode it\)$", out, re.MULTILINE), out
    assert "task: regression" in out and "8 feature column(s) → 7 inputs" in out
    assert float(re.search(r"^test r2\s+([0-9.]+)", out, re.MULTILINE).group(1)) > 0.7
    assert all(len(line) < 200 for line in (out + err).splitlines())
    # the model ignores the column when it is there, and does not need it
    frame = pd.read_csv(tmp_path / "auto.csv")
    frame.drop(columns=["car_name", "mpg"]).head(5).to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run_cli("predict", "run/model.safetensors", "--data", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert code == 0, err
    code, out, err = run_cli("evaluate", "run/model.safetensors", "--data", "auto.csv", cwd=tmp_path)
    assert code == 0, err


def test_drop_and_keep_override_the_choice(tmp_path):
    auto_mpg_csv(tmp_path / "auto.csv", rows=120)
    code, out, err = run_cli("train", "--data", "auto.csv", "--quiet", "--epochs", "1", "--keep", "car_name",
                             "--drop", "origin,model_year", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "note: column 'origin' left out (--drop)" in out and "note: column 'model_year' left out (--drop)" in out
    assert re.search(r"one-hot: car_name \(\d+ categories\)", out)
    refused(tmp_path, "--data", "auto.csv", "--drop", "colour", message=r"no feature column 'colour' to drop or keep")


def test_msft_date_column_is_left_out(tmp_path):
    msft = packaged_file("matplotlib", "mpl-data", "sample_data", "msft.csv")
    code, out, err = run_cli("train", "--data", msft, "--quiet", "--epochs", "2", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "note: column 'Date' left out:" in out and "like an identifier" in out


def test_unseen_categories_encode_as_zeros_with_a_count_at_test_evaluate_and_predict(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    colour = rng.choice(["red", "green"], n).astype(object)
    weight = rng.uniform(0, 10, n).round(2)
    label = np.where(weight > 5, "big", "small")
    frame = pd.DataFrame({"weight": weight, "colour": colour, "size": label})
    frame.to_csv(tmp_path / "train.csv", index=False)
    code, out, err = run_cli("train", "--data", "train.csv", "--quiet", "--epochs", "3", "--out", "run",
                             cwd=tmp_path)
    assert code == 0, err
    new = frame.head(6).copy()
    new.loc[:2, "colour"] = "purple"
    new.loc[3, "colour"] = "blue"
    new.to_csv(tmp_path / "new.csv", index=False)
    notice = ("note: 4 rows have categories not seen in training, encoded as all zeros: colour 'purple' ×3, "
              "colour 'blue' ×1")
    for command in (["evaluate", "run/model.safetensors", "--data", "new.csv"],
                    ["predict", "run/model.safetensors", "--data", "new.csv", "--out", "p.csv"]):
        code, out, err = run_cli(*command, cwd=tmp_path)
        assert code == 0, err
        assert notice in out, out
    assert len(pd.read_csv(tmp_path / "p.csv")) == 6
    # at test time: a category that only the test rows hold
    frame.loc[frame.index[:3], "colour"] = "only_three"
    frame.to_csv(tmp_path / "train2.csv", index=False)
    code, out, err = run_cli("train", "--data", "train2.csv", "--quiet", "--epochs", "1", "--test-split", "0.5",
                             "--seed", "4", "--out", "run2", cwd=tmp_path)
    assert code == 0, err


def test_long_lists_in_messages_are_cut(tmp_path):
    columns = [f"c{i}" for i in range(200)]
    (tmp_path / "wide.csv").write_text(",".join(columns) + "\n" + ",".join("1" for _ in columns) + "\n")
    err = refused(tmp_path, "--data", "wide.csv", "--target", "label", message=r"no target column 'label'")
    assert "… and 188 more" in err and len(err) < 300


# ---------------------------------------------------------------- 4. huge or infinite values
def _numbers_csv(path, X, y, names=("a", "b", "c")):
    with open(path, "w") as handle:
        handle.write(",".join(names) + ",y\n")
        for row, target in zip(X, y):
            handle.write(",".join(repr(float(v)) for v in row) + f",{target}\n")


def test_features_near_1e200_are_standardized_without_overflow(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 1] > 0).astype(int)
    X[:, 1] *= 1e200
    _numbers_csv(tmp_path / "huge.csv", X, y)
    code, out, err = run_cli("train", "--data", "huge.csv", "--quiet", "--epochs", "20", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert float(re.search(r"^test accuracy\s+([0-9.]+)", out, re.MULTILINE).group(1)) >= 0.9
    code, out, err = run_cli("evaluate", "run/model.safetensors", "--data", "huge.csv", cwd=tmp_path)
    assert code == 0, err


@pytest.mark.parametrize("column, value, message", [
    ("b", "inf", r"inf.csv: line 8, column 'b': 'inf' is not a finite number"),
    ("y", "-inf", r"inf.csv: line 8, column 'y': '-inf' is not a finite number"),
    ("a", "1e400", r"inf.csv: line 8, column 'a': '1e400' is not a finite number"),
])
def test_infinite_csv_cells_are_refused_naming_line_and_column(tmp_path, column, value, message):
    X = np.arange(30.0).reshape(10, 3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=np.arange(10) % 2)
    frame = frame.astype(object)
    frame.loc[6, column] = value
    frame.to_csv(tmp_path / "inf.csv", index=False)
    refused(tmp_path, "--data", "inf.csv", message=message)


def test_non_finite_npz_arrays_are_refused_naming_array_and_index(tmp_path):
    X = np.ones((30, 2))
    y = np.arange(30.0) % 2
    y[17] = np.nan
    np.savez(tmp_path / "nany.npz", X=X, y=y)
    refused(tmp_path, "--data", "nany.npz", message=r"nany.npz: y\[17\] is nan, not a finite number")
    X[5, 1] = -np.inf
    np.savez(tmp_path / "infx.npz", X=X, y=np.arange(30) % 2)
    refused(tmp_path, "--data", "infx.npz", message=r"infx.npz: X\[5, 1\] is -inf, not a finite number")


# ---------------------------------------------------------------- 5. task inference on tiny or float targets
def test_linnerud_weight_is_a_regression(tmp_path):
    linnerud = packaged_file("sklearn", "datasets", "data", "linnerud_physiological.csv")
    code, out, err = run_cli("train", "--data", linnerud, "--target", "Weight", "--quiet", "--epochs", "5",
                             "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "note: linnerud_physiological.csv is whitespace-separated" in out
    assert "task: regression — target 'Weight'" in out
    assert re.search(r"split: \d+ train / \d+ validation / 4 test rows", out)


def test_classification_of_a_float_target_is_refused_with_a_hint(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    frame = pd.DataFrame(X.round(3), columns=["a", "b"]).assign(y=(X[:, 0] * 3.7 + rng.normal(size=50)).round(3))
    frame.to_csv(tmp_path / "floaty.csv", index=False)
    refused(tmp_path, "--data", "floaty.csv", "--task", "classification",
            message=r"--test-split 0.2 leaves no test rows of the 50 rows \(stratified by class, and the 50 classes "
                    r"have one or two rows each; if the target is a quantity, use --task regression\)")


def test_many_classes_for_few_rows_warn(tmp_path):
    labels = [f"k{i // 2}" for i in range(40)] + ["k0"] * 4
    frame = pd.DataFrame({"a": np.arange(44.0), "y": labels})
    frame.to_csv(tmp_path / "many.csv", index=False)
    code, out, err = run_cli("train", "--data", "many.csv", "--quiet", "--epochs", "1", "--test-split", "0.5",
                             "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert re.search(r"deltaprop: warning: 20 classes for \d+ training rows", err), err


@pytest.mark.parametrize("args, message", [
    (["--test-split", "0.2"], r"--test-split 0.2 leaves no test rows of the 2 rows"),
    (["--test-split", "0", "--val-split", "0.1"], r"--val-split 0.1 leaves no validation rows of the 2 training rows"),
])
def test_splits_that_leave_a_side_empty_are_refused_naming_the_option(tmp_path, args, message):
    (tmp_path / "two.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    refused(tmp_path, "--data", "two.csv", *args, message=message)


def test_a_validation_split_that_takes_every_training_row_is_refused(tmp_path):
    (tmp_path / "ten.csv").write_text("a,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10)))
    refused(tmp_path, "--data", "ten.csv", "--val-split", "0.99", message=r"--val-split leaves 0 training row")


# ---------------------------------------------------------------- 11. CSV dialects and structure
def test_semicolon_separated_with_decimal_commas_is_sniffed(tmp_path):
    rows = "".join(f"{i},5;{i % 3};{i % 2}\n" for i in range(40))
    (tmp_path / "semi.csv").write_text("a;b;y\n" + rows)
    code, out, err = run_cli("train", "--data", "semi.csv", "--quiet", "--epochs", "1", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "note: semi.csv is semicolon-separated" in out
    assert "note: column 'a': decimal commas read as decimal points" in out
    assert "2 feature column(s) → 2 inputs" in out


def test_tab_separated_and_gzipped_files_read(tmp_path):
    rows = "".join(f"{i}\t{i % 5}\t{i % 2}\n" for i in range(40))
    (tmp_path / "t.tsv").write_text("a\tb\ty\n" + rows)
    (tmp_path / "g.csv.gz").write_bytes(gzip.compress(("a,b,y\n" + rows.replace("\t", ",")).encode()))
    for name in ("t.tsv", "g.csv.gz"):
        code, out, err = run_cli("train", "--data", name, "--quiet", "--epochs", "1", "--out", f"run-{name}",
                                 cwd=tmp_path)
        assert code == 0, err
        assert "40 rows, 2 feature column(s)" in out


def test_a_latin1_file_names_the_line(tmp_path):
    (tmp_path / "latin1.csv").write_bytes(b"city,x,y\nBonn,1,0\nK\xf6ln,2,1\n")
    refused(tmp_path, "--data", "latin1.csv", message=r"latin1.csv: line 3 is not UTF-8 text \(byte 0xf6\)")


def test_a_headerless_numeric_file_is_detected_and_no_header_reads_it(tmp_path):
    (tmp_path / "raw.csv").write_text("".join(f"{i},{i % 7},{i % 2}\n" for i in range(40)))
    refused(tmp_path, "--data", "raw.csv", message=r"raw.csv: line 1 looks like data, not a header \(3 of 3 cells "
                                                   r"are numbers.*use --no-header")
    code, out, err = run_cli("train", "--data", "raw.csv", "--no-header", "--quiet", "--epochs", "1", "--out", "run",
                             cwd=tmp_path)
    assert code == 0, err
    assert "40 rows, 2 feature column(s)" in out and "classification — 2 classes" in out
    # the run remembers it: evaluate and predict read the same file without a header
    code, out, err = run_cli("evaluate", "run/model.safetensors", "--data", "raw.csv", cwd=tmp_path)
    assert code == 0 and re.search(r"^rows\s+40$", out, re.MULTILINE), (out, err)


def test_duplicate_column_names_are_refused_not_renamed(tmp_path):
    (tmp_path / "dup.csv").write_text("x,y,x\n1,2,3\n4,5,6\n")
    refused(tmp_path, "--data", "dup.csv", message=r"dup.csv: line 1: column name 'x' appears twice \(columns 1 and "
                                                   r"3\)")


def test_line_numbers_count_blank_lines_and_multiline_quoted_fields(tmp_path):
    (tmp_path / "lines.csv").write_text('a,note,y\n1,"fine",0\n\n2,"two\nlines",1\n\n3,"x",oops\n4,"y",1\n5,"z",0\n')
    refused(tmp_path, "--data", "lines.csv", message=r"lines.csv: line 7, column 'y': 'oops' is not a number")
    (tmp_path / "hole.csv").write_text('a,note,y\n1,"a\nb",0\n\n2,,1\n')
    refused(tmp_path, "--data", "hole.csv", "--missing", "refuse",
            message=r"hole.csv: 1 missing cell in 1 of 2 rows: 'note' 1 \(line 5\)")
