"""Real tables, second pass (issue: real tables): missing values, formatted numbers, year headers, honest evaluation,
and the friction found on the way — each through the installed ``deltaprop`` command, as a user runs it."""
import json
import os
import re

import numpy as np
import pytest

from conftest import run_cli

pd = pytest.importorskip("pandas")


def _ok(*args, cwd):
    code, out, err = run_cli(*args, cwd=cwd)
    assert code == 0, (out, err)
    return out, err


def _refused(*args, cwd, match):
    code, out, err = run_cli(*args, cwd=cwd)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (out, err)
    assert re.search(match, err), err
    return err


def _metric(out, name):
    return float(re.search(rf"^{re.escape(name)}\s+(-?[0-9.]+)", out, re.MULTILINE).group(1))


def _regression_table(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(1000, 900_000, n), rng.uniform(0, 100, n)
    noise = rng.normal(size=n)
    y = 3e-6 * x1 + 0.02 * x2 + 0.1 * noise
    return x1, x2, noise, y


# ------------------------------------------------------------------------------- 1. evaluate --split test
def test_evaluate_split_test_refuses_other_rows_saying_what_changed(tmp_path):
    x1, x2, noise, y = _regression_table()
    frame = pd.DataFrame({"a": x1.round(1), "b": x2.round(3), "c": noise.round(3), "y": y.round(4)})
    frame.to_csv(tmp_path / "data.csv", index=False)
    _ok("train", "--data", "data.csv", "--epochs", "5", "--quiet", "--out", "run", cwd=tmp_path)
    _ok("evaluate", "run/model.safetensors", "--data", "data.csv", "--split", "test", cwd=tmp_path)
    for change, what in ((lambda f: f.sample(frac=1, random_state=1), "it holds the same rows in another order"),
                         (lambda f: f.iloc[:-3], "it has 237 rows where the run split 240"),
                         (lambda f: f.assign(c=f["c"] + 0.001), "other values in its rows")):
        change(frame).to_csv(tmp_path / "data.csv", index=False)
        _refused("evaluate", "run/model.safetensors", "--data", "data.csv", "--split", "test", cwd=tmp_path,
                 match=rf"--split test: data.csv is not the data the model's run split \({what}\)")
        _ok("evaluate", "run/model.safetensors", "--data", "data.csv", cwd=tmp_path)   # all rows: unaffected


# ------------------------------------------------------------------------------- 2. formatted numbers
def test_formatted_numbers_are_read_as_numbers_and_train_as_well_as_plain_ones(tmp_path):
    x1, x2, noise, y = _regression_table()
    plain = pd.DataFrame({"population": x1.round(0).astype(int), "share": x2.round(1), "noise": noise.round(3),
                          "y": y.round(4)})
    formatted = plain.assign(population=[f"{v:,}" for v in plain["population"]],
                             share=[f"{v:.1f}%" for v in plain["share"]])
    plain.to_csv(tmp_path / "plain.csv", index=False)
    formatted.to_csv(tmp_path / "formatted.csv", index=False)
    scores = {}
    for name in ("plain", "formatted"):
        out, _ = _ok("train", "--data", f"{name}.csv", "--quiet", "--out", name, cwd=tmp_path)
        scores[name] = _metric(out, "test r2")
        assert "like an identifier" not in out
    assert "note: column 'population': numbers written with thousands separators (like '" in \
        _ok("train", "--data", "formatted.csv", "--epochs", "1", "--quiet", "--out", "again", cwd=tmp_path)[0]
    assert scores["formatted"] > 0.9 and abs(scores["formatted"] - scores["plain"]) < 1e-9


def test_currency_and_accounting_negatives_and_an_ambiguous_column(tmp_path):
    from deltaprop.datasets.csvfile import read_csv

    (tmp_path / "money.csv").write_text('price,y\n"$1,234.50",1\n(12.00),0\n€3,1\n"$2,000",0\n')
    data = read_csv(str(tmp_path / "money.csv"))
    assert data.frame["price"].tolist() == [1234.5, -12.0, 3.0, 2000.0]
    assert any("currency symbols" in note for note in data.notes)
    (tmp_path / "semi.csv").write_text("a;y\n" + "".join(f"{i},{(i * 37) % 1000:03d};{i % 2}\n" for i in range(1, 30)))
    _refused("train", "--data", "semi.csv", cwd=tmp_path,
             match=r"column 'a': '1,037' reads as 1037 with a thousands separator or as 1.037 with a decimal comma; "
                   r"say which with --decimal point or --decimal comma")
    out, _ = _ok("train", "--data", "semi.csv", "--decimal", "point", "--epochs", "1", "--quiet", "--out", "p",
                 cwd=tmp_path)
    assert "thousands separators" in out


# ------------------------------------------------------------------------------- 3. year headers
def _years_table(path, n=80, seed=0):
    rng = np.random.default_rng(seed)
    years = list(range(1960, 2012))
    lines = ["Country Name,Country Code," + ",".join(map(str, years))]
    for i in range(n):
        base = rng.uniform(1, 100)
        lines.append(f"Land {i},C{i:03d}," + ",".join(f"{base * (1 + 0.02 * k) + rng.normal():.3f}"
                                                      for k in range(len(years))))
    path.write_text("\n".join(lines) + "\n")


def test_a_header_of_years_is_a_header_and_never_trained_on(tmp_path):
    _years_table(tmp_path / "wb.csv")
    out, _ = _ok("train", "--data", "wb.csv", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert "note: line 1 read as the header: its numbers 1960 … 2011 are a run of years" in out
    assert "target '2011'" in out and "80 rows" in out
    _refused("train", "--data", "wb.csv", "--no-header", cwd=tmp_path,
             match=r"--no-header, but line 1 looks like a header .*: use --header")
    (tmp_path / "numbers.csv").write_text("1,2,3\n4,5,6\n7,8,9\n" * 10)
    _refused("train", "--data", "numbers.csv", cwd=tmp_path, match=r"line 1 looks like data, not a header")
    out, _ = _ok("train", "--data", "numbers.csv", "--header", "--epochs", "1", "--quiet", "--out", "h",
                 cwd=tmp_path)
    assert "29 rows" in out       # line 1 taken as the header, as told


# ------------------------------------------------------------------------------- 4. missing-value tokens
def test_na_tokens_are_missing_and_a_missing_target_leaves_its_row_out(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.3f},{rng.choice(['red', 'blue'])},{rng.choice(['cat', 'dog'])}" for _ in range(60)]
    rows[4] = "0.5,red,#N/A"
    rows[9] = "-,N/A,dog"
    rows[11] = ".,NULL,cat"
    rows[20] = "0.1,blue,rabbit"           # a class with one row
    (tmp_path / "pets.csv").write_text("size,colour,animal\n" + "\n".join(rows) + "\n")
    code, out, err = run_cli("train", "--data", "pets.csv", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "note: 1 row without a target value left out (line 6)" in out
    assert "#N/A" not in out and "3 classes: cat, dog, rabbit" in out
    assert "warning: 1 class with a single row ('rabbit')" in err
    # rows 9 and 11 (lines 11 and 13) miss size and colour; the seeded split puts each in training or test
    said = re.search(r"note: the training rows have (\d+) missing cells in (\d+) of 48 rows: 'size' (\d+) \(lines? "
                     r"([\d, ]+)\), 'colour' (\d+) \(lines? ([\d, ]+)\)", out)
    assert said, out
    cells, rows, size, size_lines, colour, colour_lines = said.groups()
    lines = [int(line) for line in size_lines.split(", ")]
    assert set(lines) <= {11, 13} and len(lines) == int(rows) == int(size) == int(colour) >= 1
    assert colour_lines == size_lines and int(cells) == 2 * int(rows)


# ------------------------------------------------------------------------------- missing values, handled
def _holey_table(path, n=524, seed=3):
    """A table like the one of the issue: many missing cells in most rows, in numbers and in text."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 10, n).round(1), "income": rng.normal(50, 15, n).round(2),
                          "city": rng.choice(["north", "south", "east"], n), "score": rng.normal(size=n).round(3)})
    frame["label"] = np.where(frame["age"] / 10 + frame["income"] / 15 + (frame["city"] == "north") > 8, "hi", "lo")
    for column, share in (("age", 0.3), ("income", 0.45), ("city", 0.25), ("score", 0.3)):
        frame.loc[rng.random(n) < share, column] = np.nan
    frame.to_csv(path, index=False)
    return frame


def test_missing_cells_are_imputed_and_the_onnx_export_imputes_them_the_same(tmp_path):
    import onnxruntime as ort

    frame = _holey_table(tmp_path / "holes.csv")
    out, _ = _ok("train", "--data", "holes.csv", "--missing", "impute", "--quiet", "--out", "run", cwd=tmp_path)
    assert re.search(r"note: the training rows have [\d,]+ missing cells in [\d,]+ of \d+ rows: 'age' \d+ \(lines "
                     r"\d+, \d+, \d+ …\)", out), out
    assert "missing-value inputs: age (missing), income (missing), score (missing)" in out
    assert _metric(out, "test accuracy") > 0.7
    _ok("export", "run/model.safetensors", cwd=tmp_path)
    _ok("predict", "run/model.safetensors", "--data", "holes.csv", "--out", "p.csv", cwd=tmp_path)
    predicted = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    session = ort.InferenceSession(str(tmp_path / "run" / "model.onnx"))
    metadata = session.get_modelmeta().custom_metadata_map
    feeds = {metadata["numbers_input"]: frame[json.loads(metadata["numeric_columns"])].to_numpy(dtype=np.float64),
             json.loads(metadata["text_inputs"])["city"]: frame[["city"]].fillna("").to_numpy(dtype=object)}
    probabilities, labels = session.run(["probabilities", "label"], feeds)
    assert list(labels) == list(predicted["prediction"])
    np.testing.assert_allclose(probabilities[:, 0], predicted["probability_hi"], atol=1e-6)


def test_the_missing_policies(tmp_path):
    _holey_table(tmp_path / "holes.csv", n=200)
    out, _ = _ok("train", "--data", "holes.csv", "--missing", "drop", "--epochs", "2", "--quiet", "--out", "dropped",
                 cwd=tmp_path)
    assert re.search(r"note: --missing drop: \d+ of 200 rows with missing cells left out \(lines ", out)
    _ok("predict", "dropped/model.safetensors", "--data", "holes.csv", "--out", "p.csv", cwd=tmp_path)
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 200 and predictions["prediction"].isna().sum() > 50      # no row silently lost
    _refused("train", "--data", "holes.csv", "--missing", "refuse", cwd=tmp_path,
             match=r"holes.csv: [\d,]+ missing cells in \d+ of 200 rows: 'age' \d+ \(lines \d+, \d+, \d+ …\), 'income'")
    frame = pd.read_csv(tmp_path / "holes.csv")
    frame.loc[frame.index[:150], "score"] = np.nan          # 75% missing: more than auto imputes
    frame.to_csv(tmp_path / "sparse.csv", index=False)
    _refused("train", "--data", "sparse.csv", cwd=tmp_path,
             match=r"column 'score' is missing in \d+ of \d+ training rows, more than the 50% imputed by default; "
                   r"leave it out with --drop 'score'")


IRIS_COLUMNS = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"


def _predict_with_an_iris_model(tmp_path, csv_text: str):
    """Train on iris into run/, write ``csv_text`` as new.csv, predict it into p.csv; the notes printed."""
    _ok("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    (tmp_path / "new.csv").write_text(csv_text)
    out, _ = _ok("predict", "run/model.safetensors", "--data", "new.csv", "--out", "p.csv", cwd=tmp_path)
    return out


def test_predict_imputes_cells_missing_in_new_rows_of_a_complete_training_table(tmp_path):
    out = _predict_with_an_iris_model(tmp_path, f"{IRIS_COLUMNS}\n5.1,3.5,1.4,0.2\n6.2,,5.4,2.3\n")
    assert "note: 1 missing cell in 1 of 2 rows: 'sepal width (cm)' 1 (line 3); imputed as in training" in out
    assert pd.read_csv(tmp_path / "p.csv")["prediction"].notna().all()


def test_the_library_preprocessor_handles_missing_values_as_the_command_does():
    import deltaprop as dp

    features = pd.DataFrame({"weight": [3.0, np.nan, 5.0, 4.0], "colour": ["red", "", "blue", "red"]})
    target = pd.Series(["cat", "dog", "dog", "cat"], name="animal")
    pre = dp.Preprocessor.fit(features, target)
    assert pre.input_names() == ["weight", "weight (missing)", "colour=(missing)", "colour=blue", "colour=red"]
    X = pre.transform(features) * pre.std + pre.mean            # back to the encoded, unstandardized values
    np.testing.assert_allclose(X[:, 0], [3.0, 4.0, 5.0, 4.0])    # the training median, 4
    np.testing.assert_allclose(X[:, 1], [0, 1, 0, 0])
    again = dp.Preprocessor.from_config(json.loads(json.dumps(pre.to_config())))
    np.testing.assert_array_equal(again.transform(features), pre.transform(features))
    with pytest.raises(dp.DataError, match=r"2 missing cells in 1 of 4 rows: 'weight' 1 \(row 1\), 'colour' 1"):
        dp.Preprocessor.fit(features, target, missing="refuse")


# ------------------------------------------------------------------------------- small tables' friction
def test_an_exported_model_stays_part_of_its_run(tmp_path):
    _ok("train", "--data", "iris", "--epochs", "1", "--quiet", "--out", "run", cwd=tmp_path)
    _ok("export", "run/model.safetensors", cwd=tmp_path)
    assert (tmp_path / "run" / "model.onnx").exists()
    _ok("train", "--data", "iris", "--epochs", "1", "--quiet", "--out", "run", "--overwrite", cwd=tmp_path)


def test_column_names_with_quotes_are_shown_unambiguously_and_found_as_typed(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "votes.csv").write_text("'age',x,'vote'\n" + "".join(
        f"{rng.integers(20, 80)},{rng.normal():.2f},{rng.choice(['yes', 'no'])}\n" for _ in range(40)))
    _ok("train", "--data", "votes.csv", "--target", "vote", "--epochs", "1", "--quiet", "--out", "run", cwd=tmp_path)
    _refused("train", "--data", "votes.csv", "--target", "voted", cwd=tmp_path,
             match=r"no target column 'voted'; columns are: \"'age'\", 'x', \"'vote'\"")


def test_resume_after_the_data_changed_says_so(tmp_path):
    import signal
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 20)), columns=[f"x{i}" for i in range(20)])
    frame["y"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    process = subprocess.Popen([script, "train", "--data", "d.csv", "--layers", "512,512", "--epochs", "200",
                                "--patience", "0", "--out", "run"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if re.match(r"epoch\s+2/", line):
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    frame.loc[5, "x3"] = 9.0                   # one value of one row
    frame.to_csv(tmp_path / "d.csv", index=False)
    _refused("train", "--resume", "run", cwd=tmp_path,
             match=r"--resume run: the data changed since the run began: d.csv now holds other rows or values")


def test_r_style_tables_get_the_field_count_message(tmp_path):
    (tmp_path / "cars.txt").write_text('"mpg" "cyl" "disp"\n"Mazda RX4" 21 6 160\n"Mazda RX4 Wag" 21 6 160\n'
                                       '"Datsun 710" 22.8 4 108\n')
    _refused("train", "--data", "cars.txt", cwd=tmp_path,
             match=r"cars.txt: line 2 has 4 fields but the header has 3 \(rows that begin with a row name")


def test_predict_notes_extra_columns_copies_an_id_and_writes_to_stdout(tmp_path):
    out = _predict_with_an_iris_model(tmp_path, f"Individual ID,{IRIS_COLUMNS}\nA-1,5.1,3.5,1.4,0.2\n"
                                                "B-2,6.2,2.9,5.4,2.3\n")
    assert "note: column 'Individual ID' not used: the model was not trained on them (--id COL copies one" in out
    code, out, err = run_cli("predict", "run/model.safetensors", "--data", "new.csv", "--id", "Individual ID",
                             "--out", "-", cwd=tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Individual ID,prediction,probability_") and lines[1].startswith("A-1,")
    assert len(lines) == 3 and "note" not in out


def test_config_from_another_folder_finds_its_data(tmp_path):
    (tmp_path / "project").mkdir()
    pd.DataFrame({"a": np.arange(60) % 7, "b": np.arange(60) % 5, "y": np.arange(60) % 2}).to_csv(
        tmp_path / "project" / "d.csv", index=False)
    _ok("train", "--data", "d.csv", "--epochs", "1", "--quiet", "--out", "runs/one", cwd=tmp_path / "project")
    _ok("train", "--config", "project/runs/one/config.toml", "--quiet", "--out", "again", cwd=tmp_path)


def test_identifier_hints_quote_names_with_spaces_and_numeric_ids_get_a_note(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    pd.DataFrame({"Individual ID": [f"P{i:04d}" for i in range(n)], "row": np.arange(1, n + 1),
                  "x": rng.normal(size=n), "same": 1, "y": rng.choice(["a", "b"], n)}).to_csv(
        tmp_path / "people.csv", index=False)
    out, _ = _ok("train", "--data", "people.csv", "--epochs", "1", "--quiet", "--out", "run", cwd=tmp_path)
    assert "(--keep 'Individual ID' to one-hot encode it)" in out
    assert "note: column 'row' holds distinct whole numbers counting up, like a row number" in out
    assert "note: column 'same' left out: the same value in every training row (1)" in out


def test_regression_scores_say_their_units(tmp_path):
    out, _ = _ok("train", "--data", "diabetes", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert re.search(r"^test mse \(target\)\s+[0-9.]+$", out, re.MULTILINE)
    assert re.search(r"^test mse \(standardized target\)\s+[0-9.]+$", out, re.MULTILINE)


def test_gradcheck_of_a_saved_model(tmp_path):
    _ok("train", "--data", "wine", "--normalization", "batchnorm", "--epochs", "1", "--quiet", "--out", "run",
        cwd=tmp_path)
    out, _ = _ok("gradcheck", "run/model.safetensors", cwd=tmp_path)
    assert "gradient check passed" in out and "1.running_mean" not in out


def test_diagnose_gives_each_advice_once(tmp_path):
    out, _ = _ok("train", "--data", "digits", "--layers", "64,64,64,64,64,64,64,64", "--activation", "sigmoid",
                 "--epochs", "1", "--diagnose", "--quiet", "--out", "run", cwd=tmp_path)
    assert out.count("Sigmoid's derivative is at most 1/4") == 2          # before and after training, once each
    findings = [line for line in out.splitlines() if line.startswith(("vanishing", "finding", "---", "what to do",
                                                                        "    "))]
    assert len(findings) > 10 and max(len(line) for line in findings) <= 120


def test_a_table_of_under_100_training_rows_trains_every_epoch_without_a_validation_split(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=60)}
                 ).round(4).to_csv(tmp_path / "tiny.csv", index=False)
    out, _ = _ok("train", "--data", "tiny.csv", "--quiet", "--out", "run", cwd=tmp_path)
    assert "split: 48 train / 0 validation / 12 test rows" in out
    assert re.search(r"^epochs trained\s+300$", out, re.MULTILINE)
    assert _metric(out, "test r2") > 0.8
