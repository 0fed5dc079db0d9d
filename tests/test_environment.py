"""The test environment itself: what the README's test command installs must run every test."""
import importlib.metadata
import importlib.util


def test_the_test_extra_brings_torch_so_the_pytorch_comparisons_run():
    requirements = importlib.metadata.requires("deltaprop") or []
    assert any(r.replace(" ", "").startswith("torch==2.13.0") and 'extra=="test"' in r.replace(" ", "")
               for r in requirements), requirements
    # installed with '.[test]', the comparison tests are not skipped
    assert importlib.util.find_spec("torch") is not None, "pip install -e '.[test]' installs torch"


def test_the_test_extra_brings_the_docs_tools_so_the_doc_examples_run():
    for module in ("mkdocs", "mkdocstrings", "material", "mktestdocs"):
        assert importlib.util.find_spec(module) is not None, f"pip install -e '.[test]' installs {module}"
