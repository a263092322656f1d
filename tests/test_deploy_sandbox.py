"""The portal's systemd units keep it and every library in it in a sandbox (ASVS 14.2.6),
scored by systemd's own analysis of the unit files (``systemd-analyze security --offline``):
from 8.5 (EXPOSED) with the plain units to under 2 (OK)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SANDBOXED = ("spiegel-portal.service", "spiegel-portal-purge.service")
MOST_EXPOSURE = 2.0  # systemd's scale: 0 (safe) to 10 (unsafe); "OK" is below 4


def _exposure(unit: Path) -> tuple[float, str]:
    analysed = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", analysed.stdout)
    assert found, (analysed.returncode, analysed.stdout[-2000:], analysed.stderr[-2000:])
    return float(found[1]), analysed.stdout


@pytest.mark.parametrize("name", SANDBOXED)
def test_the_portals_units_are_scored_ok_by_systemd(name):
    score, report = _exposure(DEPLOY / name)
    assert score <= MOST_EXPOSURE, report
    for passed in ("CapabilityBoundingSet=", "ProtectSystem=", "PrivateDevices=", "RestrictNamespaces="):
        assert re.search(rf"✓ {re.escape(passed)}", report), (passed, report)


@pytest.mark.parametrize("name", SANDBOXED)
def test_the_sandbox_leaves_writable_only_the_data_directory(name):
    text = (DEPLOY / name).read_text()
    assert "\nProtectSystem=strict\n" in text and "\nProtectHome=yes\n" in text
    assert re.findall(r"^ReadWritePaths=(.*)$", text, re.M) == ["/srv/spiegel"]
    assert "\nSystemCallFilter=@system-service\n" in text and "\nSystemCallErrorNumber=EPERM\n" in text


def test_the_score_tells_a_plain_unit_from_a_sandboxed_one(tmp_path):
    """The analysis itself distinguishes: the portal's unit without its sandbox lines is EXPOSED."""
    text = (DEPLOY / "spiegel-portal.service").read_text()
    plain = re.sub(
        r"(?m)^(NoNewPrivileges|Private|Protect|Restrict|LockPersonality|RemoveIPC|Capability"
        r"|AmbientCapabilities|SystemCall|ReadWritePaths|UMask)[^\n]*\n",
        "",
        text,
    )
    (tmp_path / "spiegel-portal.service").write_text(plain)
    score, _ = _exposure(tmp_path / "spiegel-portal.service")
    assert score >= 8.0
