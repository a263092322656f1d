"""The tree reads like the data's path, and stays that way: the layers of orchestration/
are a contract that CI checks (pyproject.toml, import-linter), no module grows past a
size a reader can hold, and no stage sneaks back into the top level."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "orchestration"
TOP_LEVEL_MODULES = {"__init__.py", "definitions.py", "cli.py"}
MAX_LINES = 500
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_only_the_entry_points_sit_directly_under_orchestration():
    assert {p.name for p in PACKAGE.glob("*.py")} == TOP_LEVEL_MODULES


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {
        str(p.relative_to(REPO)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_orchestration_has_no_import_cycle():
    graph = grimp.build_graph("orchestration", include_external_packages=False)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            # a package's __init__ re-exporting its own modules is not a cycle between modules
            if imported.startswith(module + ".") or module.startswith(imported + "."):
                continue
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    assert cycles == []


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def test_the_layer_contract_holds_and_breaks_on_an_upward_import(tmp_path):
    assert _lint_imports(REPO).returncode == 0
    # a copy of the tree whose core imports a later stage: the contract must fail, naming it
    copy = tmp_path / "repo"
    shutil.copytree(PACKAGE, copy / "orchestration", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    core = copy / "orchestration" / "core" / "settings.py"
    core.write_text(
        core.read_text(encoding="utf-8") + "\nimport orchestration.release.publish  # noqa\n", encoding="utf-8"
    )
    broken = _lint_imports(copy)
    assert broken.returncode != 0, broken.stdout
    assert "BROKEN" in broken.stdout
    assert "orchestration.core.settings -> orchestration.release.publish" in broken.stdout, broken.stdout
