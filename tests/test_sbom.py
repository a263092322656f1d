"""The Software Bill of Materials (docs/security.md, ASVS 14.2.5): ``scripts/sbom.sh`` lists the
environment the tests run in, as CycloneDX JSON, with every installed distribution and its
version (scripts/setup.sh writes one to build/sbom/ at the end of every set-up)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def test_the_sbom_lists_every_installed_distribution_with_its_version(tmp_path):
    out = tmp_path / "sbom" / "spiegel.cdx.json"
    # the environment of this interpreter: the .venv that scripts/setup.sh made
    env = {**os.environ, "SPIEGEL_VENV": sys.prefix}
    run = subprocess.run(
        ["bash", "scripts/sbom.sh", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    bom = json.loads(out.read_text(encoding="utf-8"))
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.6"
    root = bom["metadata"]["component"]
    assert (root["name"], root["version"]) == ("spiegel", importlib.metadata.version("spiegel"))
    listed = {canonicalize_name(c["name"]): c["version"] for c in bom["components"]}
    assert all(c["purl"].startswith("pkg:pypi/") for c in bom["components"])
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions(path=[p for p in sys.path if p.startswith(sys.prefix)])
    }
    installed.pop("spiegel", None)  # the root component, above
    missing = {name: version for name, version in installed.items() if listed.get(name) != version}
    assert not missing, missing
    assert set(listed) == set(installed)
    for name in ("django", "dagster", "duckdb"):
        assert listed[name] == importlib.metadata.version(name), name
    assert f"{run.stdout.strip()}".endswith(f"{len(listed)} components written to {out}")
