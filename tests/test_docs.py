"""The documentation is tested: every Python example in docs/ and in the README runs, the numbers the
text quotes are checked (``pycon`` blocks run as doctests), the site builds with ``mkdocs build --strict``
(broken links and references fail), and the CLI reference covers every option of the parser."""
from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

mktestdocs = pytest.importorskip("mktestdocs", reason="the docs extra (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def run_pycon_blocks(path: Path) -> None:
    """The page's ``pycon`` blocks as one doctest session: what is printed must equal what the page shows."""
    blocks = mktestdocs.grab_code_blocks(path.read_text(encoding="utf-8"), lang="pycon")
    if not blocks:
        return
    test = doctest.DocTestParser().get_doctest("\n\n".join(blocks), {}, page_id(path), str(path), 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=sys.stdout.write)
    assert runner.failures == 0, f"{page_id(path)}: {runner.failures} example(s) printed other numbers (above)"


@pytest.fixture(autouse=True)
def layer_registry_restored():
    """Pages register example layers (``@dp.register_layer``); registration is process-wide, so it is undone."""
    from deltaprop.layers import LAYERS

    before = set(LAYERS.names())
    yield
    for name in set(LAYERS.names()) - before:
        LAYERS.unregister(LAYERS.lookup(name))


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_python_examples_run(path, tmp_path, monkeypatch):
    """Each page's ```python blocks run in order in one namespace, in a scratch folder."""
    monkeypatch.chdir(tmp_path)
    mktestdocs.check_md_file(path, memory=True)


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_printed_numbers_are_the_libraries(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_pycon_blocks(path)


def test_every_cli_option_is_in_the_reference():
    from deltaprop.cli.parser import build_parser
    from deltaprop.cli.reference import markdown_reference

    text = markdown_reference()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert list(commands) == list(parser.commands)
    sections = text.split("\n## deltaprop ")[1:]
    assert [section.split("\n")[0] for section in sections] == list(commands)
    for section, sub in zip(sections, commands.values()):
        for action in sub._actions:
            for option in action.option_strings:
                assert f" {option}" in section, (section.split()[0], option)
            if action.help and not action.option_strings:    # positional arguments
                assert action.dest in section


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "## Quickstart" in text


@pytest.mark.slow
def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    # docstrings cross-reference as mkdocstrings renders them ([`Layer`][deltaprop.Layer]), never as raw Sphinx roles
    import re

    roles = re.compile(r":(class|meth|func|mod|data|attr|exc):`")
    raw = {str(page.relative_to(tmp_path / "site")): len(roles.findall(page.read_text(encoding="utf-8")))
           for page in (tmp_path / "site").rglob("*.html")}
    assert not {page: count for page, count in raw.items() if count}, raw
    assert (tmp_path / "site" / "reference" / "layers" / "index.html").read_text(encoding="utf-8").count(
        'href="#deltaprop.') > 10       # the cross-references became links


def test_every_public_name_has_a_reference_entry():
    import deltaprop as dp

    text = "\n".join(page.read_text(encoding="utf-8") for page in (ROOT / "docs" / "reference").glob("*.md"))
    missing = [name for name in dp.__all__ if name not in ("__version__", "datasets") and f"::: deltaprop.{name}\n" not in text]
    assert not missing, f"public names without an API reference entry: {missing}"
    assert "::: deltaprop.datasets" in text and "::: deltaprop.sklearn.MLPClassifier" in text


@pytest.mark.slow
def test_figure_script_draws_from_real_runs(tmp_path):
    """docs/scripts/figures.py regenerates the pictures of the gradients page (a short run here)."""
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "scripts" / "figures.py"), "--out", str(tmp_path),
                             "--epochs", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = sorted(path.name for path in tmp_path.glob("*.png"))
    assert drawn == sorted(path.name for path in (ROOT / "docs" / "img").glob("*.png"))
    assert "sigmoid " in result.stdout
