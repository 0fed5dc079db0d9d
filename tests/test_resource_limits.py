"""Small inputs cannot take unbounded memory or time (issue: reliability, class 3).

Each case runs the installed ``deltaprop`` in a subprocess under a 1 GiB address-space limit
(``RLIMIT_AS``) and a time limit: it must be refused with one line and exit 2 — not a MemoryError, not the
OOM killer, not a hang.
"""
import gzip
import io
import json
import os
import resource
import zipfile

import numpy as np
import pytest

from conftest import run_cli

pytest.importorskip("pandas")

LIMIT = 1 << 30   # 1 GiB of address space
SECONDS = 60      # far above what a refusal takes (a few seconds); only a hang or a swap storm reaches it


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _refused(tmp_path, *args) -> str:
    code, out, err = run_cli(*args, cwd=tmp_path, timeout=SECONDS, preexec_fn=_limited)
    assert code == 2, (code, out, err[-2000:])
    assert err.count("\n") == 1 and err.startswith("deltaprop: error: "), err[-2000:]
    return err


def test_a_model_file_claiming_a_huge_layer_is_refused_before_anything_is_built(tmp_path):
    """112 KB with a header that says Dense(30000, 30000): once 14 GB and 64 s in `summary`."""
    from safetensors.numpy import save

    from deltaprop.tensorfile import checksum

    tensors = {"0.W": np.zeros((100, 280), np.float32), "0.b": np.zeros(280, np.float32)}
    header = {"format": "deltaprop-model", "format_version": 2, "dtype": "float32",
              "architecture": [{"type": "Dense", "config": {"n_in": 30000, "n_out": 30000}}]}
    text = json.dumps(header)
    (tmp_path / "big.safetensors").write_bytes(save(tensors, metadata={"deltaprop": text,
                                                                      "deltaprop_checksum": checksum(text, tensors)}))
    assert os.path.getsize(tmp_path / "big.safetensors") > 100_000
    err = _refused(tmp_path, "summary", "big.safetensors")
    assert "tensor '0.W' has shape (100, 280), the architecture needs (30000, 30000)" in err


def test_layer_sizes_that_cannot_fit_are_refused_naming_the_parameter_count(tmp_path):
    err = _refused(tmp_path, "train", "--data", "iris", "--layers", "100000,100000", "--out", "run")
    count = (4 + 1) * 100_000 + (100_000 + 1) * 100_000 + (100_000 + 1) * 3     # iris: 4 inputs, 3 classes
    assert f"--layers 100000,100000: {count:,} parameters; training needs about 320 GB" in err
    assert not (tmp_path / "run").exists()


def test_a_layer_of_a_trillion_units_is_a_value_error_naming_it():
    import deltaprop as dp

    with pytest.raises(ValueError, match=r"Dense\(4, 1000000000000\): 4,000,000,000,000 values need 16 TB"):
        dp.Dense(4, 10 ** 12)
    from deltaprop.sklearn import MLPClassifier

    with pytest.raises(ValueError, match="values need"):
        MLPClassifier(hidden_layer_sizes=(10 ** 12,), max_iter=1).fit(np.ones((4, 2)), [0, 1, 0, 1])


def _gzip_bomb(path, text_bytes: int):
    """A .csv.gz that inflates to ``text_bytes`` of valid rows: one compressed member repeated (gzip allows
    members one after another), so that making it takes no time."""
    rows = b"1.5,2.25,blue,0\n" * 65536
    member = gzip.compress(rows, compresslevel=9)
    with open(path, "wb") as file:
        file.write(gzip.compress(b"a,b,c,y\n"))
        for _ in range(text_bytes // len(rows)):
            file.write(member)


def test_a_gzip_bomb_is_refused_before_memory_runs_out(tmp_path):
    _gzip_bomb(tmp_path / "bomb.csv.gz", 4 * 2 ** 30)        # 4 GB of text
    assert os.path.getsize(tmp_path / "bomb.csv.gz") < 20_000_000
    err = _refused(tmp_path, "train", "--data", "bomb.csv.gz", "--out", "run")
    assert "bomb.csv.gz: too large to read into memory: by line" in err
    assert not (tmp_path / "run").exists()


def _forged_npy(header_shape, data: np.ndarray) -> bytes:
    from numpy.lib import format as npy_format

    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": data.dtype.str, "fortran_order": False,
                                               "shape": header_shape})
    buffer.write(data.tobytes())
    return buffer.getvalue()


def test_forged_npy_and_npz_headers_are_refused_against_the_file_size(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    np.save(folder / "X.npy", np.ones((10, 3)))
    (folder / "y.npy").write_bytes(_forged_npy((10 ** 12,), np.arange(10)))
    err = _refused(tmp_path, "train", "--data", "data", "--out", "run")
    assert "y.npy: the header claims shape (1000000000000,) of int64 (8 TB) but the file holds 80 bytes" in err
    with zipfile.ZipFile(tmp_path / "forged.npz", "w") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.ones((10, 3)))
        archive.writestr("X.npy", buffer.getvalue())
        archive.writestr("y.npy", _forged_npy((10 ** 12,), np.arange(10)))
    err = _refused(tmp_path, "train", "--data", "forged.npz", "--out", "run")
    assert "forged.npz: array 'y': the header claims shape (1000000000000,)" in err


def test_data_must_be_a_regular_file_or_a_folder(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    err = _refused(tmp_path, "train", "--data", "pipe.csv", "--out", "run")
    assert "pipe.csv: is not a regular file (a pipe, a device or a socket)" in err
    err = _refused(tmp_path, "train", "--data", "/dev/zero", "--out", "run")
    assert "/dev/zero: is not a regular file" in err
    err = _refused(tmp_path, "predict", "m.safetensors", "--data", "pipe.csv", "--out", "p.csv")
    assert err      # the model is missing here; what matters is that nothing blocked on the pipe


def test_a_table_of_100000_columns_is_read(tmp_path):
    """Read in one pass over the cells (bench/csv_read.py measures it against pandas: about as fast)."""
    from deltaprop.datasets.csvfile import read_csv

    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(100_000)]
    rows = [",".join(f"{v:.2f}" for v in rng.normal(size=len(names))) for _ in range(4)]
    (tmp_path / "wide.csv").write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    data = read_csv(str(tmp_path / "wide.csv"))
    assert data.frame.shape == (4, 100_000)
    assert data.frame["c99999"].iloc[3] == float(rows[3].split(",")[-1])
