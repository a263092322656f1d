"""The portal served for real: ``spiegel portal serve`` (migrations, static files, gunicorn)
in a subprocess on a free port of 127.0.0.1, on a data directory of the test's own."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portal.served import REPO_ROOT, free_port, serve_env, served

__all__ = [
    "REPO_ROOT",
    "free_port",
    "portal_env",
    "portal_mails",
    "served_portal",
    "spiegel_portal",
    "spiegel_portal_batch",
]


def portal_env() -> dict[str, str]:
    return serve_env()


def spiegel_portal(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``spiegel portal ARGS --data-dir DATA_DIR`` in a subprocess (Django reads its settings once
    per process, and this process's Django belongs to the in-process tests)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "portal", args[0], "--data-dir", str(data_dir), *args[1:]],
        cwd=REPO_ROOT,
        env=portal_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def served_portal(
    data_dir: Path, *, workers: int = 2, log_name: str = "serve.log", extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The portal of ``data_dir`` served until the block ends (``portal/served.py``): its base URL."""
    with served(data_dir, workers=workers, log_name=log_name, extra_env=extra_env) as (process, base):
        yield base
    # a clean stop on SIGTERM (checked after the test's own assertions ran)
    assert process.returncode == 0, f"spiegel portal serve ended with {process.returncode}"


_BATCH = r"""
import contextlib, io, json, sys
from orchestration import cli
results = []
for argv, stdin in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO(stdin or "")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write("\n@@RESULTS@@" + json.dumps(results))
"""


def spiegel_portal_batch(
    data_dir: Path, calls: list[tuple[list[str], str | None]]
) -> list[subprocess.CompletedProcess]:
    """Several ``spiegel portal ...`` commands through the real CLI entry point (cli.main), in
    one subprocess (the CLI imports Dagster, about 2 s of CPU per process)."""
    import json

    payload = [(["portal", args[0], "--data-dir", str(data_dir), *args[1:]], stdin) for args, stdin in calls]
    result = subprocess.run(
        [sys.executable, "-c", _BATCH],
        cwd=REPO_ROOT,
        env=portal_env(),
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "@@RESULTS@@" in result.stdout, result.stderr[-3000:]
    return [
        subprocess.CompletedProcess(argv, code, out, err)
        for (argv, _), (code, out, err) in zip(payload, json.loads(result.stdout.split("@@RESULTS@@")[-1]))
    ]


def portal_mails(data_dir: Path) -> list[email.message.EmailMessage]:
    """Every message the served portal's file mail backend wrote (``DIR/portal/mail/*.log``:
    one file per connection, its messages separated by a line of 79 dashes), oldest file first."""
    found = []
    for path in sorted((data_dir / "portal" / "mail").glob("*.log")):
        for chunk in path.read_text(encoding="utf-8").split("-" * 79):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip() + "\n", policy=email.policy.default))
    return found
