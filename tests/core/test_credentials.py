"""systemd's credentials become the environment variables they are named after
(orchestration/core/credentials.py), in the CLI and in the portal's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.core.credentials import load_into_environment
from orchestration.core.settings import REPO_ROOT

KEY = "k" * 20 + "Zq8-rT5_vW2xY7pL0mN3bC6dF9gH1jK4sA"  # 56 characters, varied: not weak


def test_spiegel_credentials_become_variables_and_win_over_the_environment_file(tmp_path):
    (tmp_path / "SPIEGEL_PORTAL_EMAIL_PASSWORD").write_text("geheim met spatie \n")
    (tmp_path / "SPIEGEL_DAGSTER_DATABASE_URL").write_text("postgresql+psycopg2:///dagster")
    (tmp_path / "SPIEGEL_NESTED").mkdir()  # not a file
    (tmp_path / "PATH").write_text("/nowhere")  # not a SPIEGEL_ name: never set
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "SPIEGEL_PORTAL_EMAIL_PASSWORD": "old", "PATH": "/usr/bin"}
    assert load_into_environment(env) == ["SPIEGEL_DAGSTER_DATABASE_URL", "SPIEGEL_PORTAL_EMAIL_PASSWORD"]
    assert env["SPIEGEL_PORTAL_EMAIL_PASSWORD"] == "geheim met spatie "  # only echo's newline goes
    assert env["SPIEGEL_DAGSTER_DATABASE_URL"] == "postgresql+psycopg2:///dagster"
    assert env["PATH"] == "/usr/bin" and "SPIEGEL_NESTED" not in env


def test_without_credentials_nothing_changes(tmp_path):
    env = {"SPIEGEL_PORTAL_EMAIL_PASSWORD": "uit het bestand"}
    assert load_into_environment(env) == [] and env == {"SPIEGEL_PORTAL_EMAIL_PASSWORD": "uit het bestand"}
    env["CREDENTIALS_DIRECTORY"] = str(tmp_path / "weg")
    assert load_into_environment(env) == []


def test_the_portal_takes_its_secret_key_and_pepper_from_the_credentials(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "SPIEGEL_PORTAL_SECRET_KEY").write_text(KEY + "\n")
    (credentials / "SPIEGEL_PORTAL_PASSWORD_PEPPER").write_text("p" * 8 + "Xy7-Qw3_Er9tUi2oPa5sDf8gHj1kLz4c")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPIEGEL_")}
    env.update(
        CREDENTIALS_DIRECTORY=str(credentials),
        SPIEGEL_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    env["SPIEGEL_PORTAL_SECRET_KEY"] = "overruled-by-the-credential"  # (not key-shaped: the repository scan)
    program = "from django.conf import settings; print(settings.SECRET_KEY, settings.PASSWORD_PEPPER)"
    shown = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [KEY, "p" * 8 + "Xy7-Qw3_Er9tUi2oPa5sDf8gHj1kLz4c"]
    assert not (tmp_path / "data" / "portal" / "secret_key").exists()  # none generated beside it


def test_every_unit_imports_the_spiegel_credentials():
    units = sorted((Path(REPO_ROOT) / "deploy").glob("*.service"))
    assert len(units) == 5
    for unit in units:
        text = unit.read_text()
        assert "EnvironmentFile=/etc/spiegel/spiegel.env\n" in text, unit.name
        assert "\nImportCredential=SPIEGEL_*\n" in text, unit.name
