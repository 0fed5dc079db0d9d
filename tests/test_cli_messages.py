"""Exit codes, messages, help and missing extras of the real ``deltaprop`` command."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("pandas")

from conftest import run_cli  # noqa: E402
from deltaprop.cli import main  # noqa: E402
from deltaprop.cli.parser import build_parser  # noqa: E402


# ----------------------------------------------------------------------------- 10. exit codes
def test_a_bug_inside_deltaprop_is_exit_1_with_the_traceback(monkeypatch, capsys):
    from deltaprop.cli import train

    def broken(args):
        raise ValueError("an internal inconsistency")   # not an InputError: a bug, not bad input

    monkeypatch.setattr(train, "run", broken)
    monkeypatch.setattr(build_parser().__class__, "parse_args", lambda self, argv: type(
        "Args", (), {"run": staticmethod(broken), "command": "train"})())
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: an internal inconsistency" in err and "internal error" in err


@pytest.mark.parametrize("toml, message", [
    ('lr = "fast"', r"c.toml: lr must be a number, got \"fast\""),
    ("data = 5", r"c.toml: data must be a string, got 5"),
    ("epochs = 2.5", r"c.toml: epochs must be an integer or \"auto\", got 2.5"),
    ("batch_size = true", r"c.toml: batch_size must be an integer or \"auto\", got true"),
    ('normalization = "group"', r"c.toml: normalization must be one of none, batchnorm, layernorm"),
    ("drop = [1, 2]", r"c.toml: drop must be a list of column names"),
])
def test_config_values_of_the_wrong_type_name_key_and_file(tmp_path, toml, message):
    (tmp_path / "c.toml").write_text(f"[train]\n{toml}\n")
    code, out, err = run_cli("train", "--config", "c.toml", cwd=tmp_path)
    assert code == 2 and err.count("\n") == 1 and re.search(message, err), err


# ----------------------------------------------------------------------------- 11. messages
@pytest.mark.parametrize("args, message", [
    (["--lr", "inf"], r"--lr must be a positive number, got inf"),
    (["--lr", "nan"], r"--lr must be a positive number, got nan"),
    (["--test-split", "1.5"], r"--test-split must be in \[0, 1\), got 1.5"),
    (["--val-split", "-0.1"], r"--val-split must be in \[0, 1\), got -0.1"),
    (["--dropout", "1"], r"--dropout must be in \[0, 1\), got 1"),
    (["--clip-norm", "0"], r"--clip-norm must be a positive number, got 0"),
    (["--seed", "-3"], r"--seed must be 0 or more, got -3"),
    (["--drop", "a", "--keep", "a"], r"--drop and --keep both name 'a'"),
])
def test_every_option_is_checked_before_the_data_and_named_as_an_option(tmp_path, args, message):
    code, out, err = run_cli("train", "--data", "absent.csv", *args, cwd=tmp_path)   # the data would fail too
    assert code == 2 and re.search(message, err), err
    assert out == "" and "absent.csv" not in err
    assert not re.search(r"\b(test_split|val_split|clip_norm|batch_size)\b", err)


def test_explain_checks_its_options_before_printing(tmp_path):
    for args in (["--lr", "nan"], ["--input", "1,inf"], ["--target", "nan"]):
        code, out, err = run_cli("explain", *args)
        assert code == 2 and out == "" and err.count("\n") == 1, (args, out, err)


def test_explain_into_a_closed_pipe_exits_quietly():
    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    process = subprocess.Popen([script, "explain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()                                   # like `deltaprop explain | head -1`
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert err == "" and process.returncode in (0, 141)


def test_no_temporary_file_name_appears(tmp_path):
    code, out, err = run_cli("train", "--epochs", "1", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    (tmp_path / "afile").write_text("not a folder")
    code, out, err = run_cli("predict", "run/model.safetensors", "--data", "digits", "--out", "afile/p.csv",
                             cwd=tmp_path)
    assert code == 2 and err == "deltaprop: error: cannot write afile/p.csv: Not a directory\n", err
    code, out, err = run_cli("train", "--epochs", "1", "--quiet", "--out", "afile/run", cwd=tmp_path)
    assert code == 2 and err == "deltaprop: error: --out afile/run: afile is a file, not a folder\n" and out == ""


# ----------------------------------------------------------------------------- 13. version and help
def test_version_and_help():
    for flag in ("--version", "-V"):
        code, out, err = run_cli(flag)
        assert code == 0 and re.fullmatch(r"deltaprop \d+\.\d+\.\d+\n", out)
    code, out, err = run_cli("train", "--help")
    assert code == 0
    tail = out[out.index("examples:"):]
    assert "deltaprop train --data pets.csv" in tail
    assert out.rstrip().endswith("run saved)")
    for code_line in ("0    success", "1    internal error", "2    bad usage", "3    training failed", "130"):
        assert code_line in tail
    assert "relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus, identity" in " ".join(out.split())


def test_every_argument_has_help():
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"deltaprop {name}: {action.dest} has no help"


# ----------------------------------------------------------------------------- 16. missing extras
BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Blocker())
from deltaprop.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("blocked, command, missing", [
    ({"pandas", "matplotlib", "sklearn", "tomli_w", "mnist1d", "mlxtend"}, "train",
     "pandas, matplotlib, scikit-learn, tomli-w, which are"),
    ({"tomli_w"}, "train", "tomli-w, which is"),
    ({"pandas"}, "predict", "pandas, which is"),
])
def test_without_the_cli_extra_the_command_says_what_to_install(tmp_path, blocked, command, missing):
    args = [command] if command == "train" else [command, "m.safetensors", "--data", "digits"]
    result = subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=blocked), *args], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"deltaprop: error: 'deltaprop {command}' needs {missing} not installed: "
                             "pip install 'deltaprop[cli]'\n")
    assert not os.listdir(tmp_path)


def test_core_commands_work_without_the_cli_extra(tmp_path):
    import deltaprop as dp

    dp.save(dp.mlp([3, 4, 2], seed=0), tmp_path / "m.safetensors")
    blocked = {"pandas", "matplotlib", "sklearn", "tomli_w", "mnist1d", "mlxtend"}
    for args in (["summary", "m.safetensors"], ["explain"], ["gradcheck"], ["--version"]):
        result = subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=blocked), *args], capture_output=True,
                                text=True, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, (args, result.stderr)
