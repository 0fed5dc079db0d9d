"""The package's structure as a checked contract: imports flow one way, and no module reads another's internals."""
import ast
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deltaprop"


def test_imports_flow_one_way():
    """core → optim → training → diagnostics → io and data → cli (pyproject.toml, [tool.importlinter])."""
    script = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(script):
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    result = subprocess.run([script, "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _private_attribute_reads(tree) -> list:
    """``other._name`` where ``other`` is not ``self`` or ``cls`` (a module's own ``_helpers`` are fine)."""
    found = []
    modules = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id not in ("self", "cls")
                and node.value.id not in modules):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


def test_no_module_reads_another_objects_private_attributes():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        reads = _private_attribute_reads(ast.parse(path.read_text()))
        if reads:
            offenders[str(path.relative_to(PACKAGE))] = reads
    assert not offenders, offenders
