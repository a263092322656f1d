"""The hash-pinned lock (docs/security.md, ASVS 14.1.1): scripts/lock.sh resolves pyproject.toml's
ranges once into requirements.lock, and scripts/setup.sh installs exactly that with pip's
hash-checking mode, so two set-ups install the same files and a file that changed is refused."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK_LINE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>[^ ]+) --hash=sha256:(?P<digest>[0-9a-f]{64})$")


def locked() -> dict[str, tuple[str, str]]:
    """requirements.lock as {canonical name: (version, sha256)}; a line of another shape fails."""
    pins: dict[str, tuple[str, str]] = {}
    for number, line in enumerate((REPO / "requirements.lock").read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        match = LOCK_LINE.match(line)
        assert match, f"requirements.lock line {number} is not 'name==version --hash=sha256:...': {line}"
        name = canonicalize_name(match["name"])
        assert name not in pins, f"requirements.lock pins {name} twice"
        pins[name] = (match["version"], match["digest"])
    return pins


def test_every_line_of_the_lock_pins_one_version_with_its_sha256():
    pins = locked()
    assert len(pins) > 150  # the whole tree, not only the direct dependencies
    assert {"dagster", "dbt-duckdb", "django", "great-expectations", "pip", "setuptools"} <= pins.keys()


def test_the_lock_satisfies_every_range_of_pyproject():
    """A range changed in pyproject.toml without running scripts/lock.sh fails here, by name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    pins = locked()
    for requirement in wanted:
        if requirement.marker and not requirement.marker.evaluate({"extra": "test"}):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run scripts/lock.sh"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {name} {version}, outside pyproject.toml's {requirement}: run scripts/lock.sh"
        )


def test_the_set_up_installed_exactly_the_lock():
    """.venv (where the tests run) holds the locked versions and nothing besides them and Spiegel."""
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    expected = {name: version for name, (version, _) in locked().items()}
    assert installed.pop("spiegel") == "0.1.0"
    assert installed == expected


def _setup_install_command() -> list[str]:
    """The one line of scripts/setup.sh that installs the lock, as an argument list."""
    (line,) = [
        line for line in (REPO / "scripts" / "setup.sh").read_text().splitlines() if "-r requirements.lock" in line
    ]
    return shlex.split(line)


def test_the_set_up_refuses_a_file_whose_sha256_is_not_the_locked_one(tmp_path):
    command = _setup_install_command()
    assert command[:4] == [".venv/bin/python", "-m", "pip", "install"]
    assert "--require-hashes" in command and "--no-deps" in command
    version, digest = locked()["six"]
    tampered = tmp_path / "requirements.lock"
    tampered.write_text(f"six=={version} --hash=sha256:{'0' * 64}\n")
    args = [sys.executable, *command[1:]]
    args[args.index("requirements.lock")] = str(tampered)
    dry = [*args, "--dry-run", "--ignore-installed"]
    refused = subprocess.run(dry, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr and digest in refused.stderr
    tampered.write_text(f"six=={version} --hash=sha256:{digest}\n")
    accepted = subprocess.run(dry, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert accepted.returncode == 0, accepted.stderr
