"""kill -9 at every step boundary of every job, and at every stage of publishing and of the
portal's set-up: nothing is lost, nothing is half-done, and the release is the one an
uninterrupted run publishes.

The crash points are not listed here: ``orchestration.commands.crash_points`` enumerates
them from the jobs' execution plans (and the stages their steps declare), and this test
fails when one of them is not killed at. Each kill is one short process (forked from a
warm parent, ``tests/support/forking.py``) that SIGKILLs itself at its point
(``SPIEGEL_CRASH_AT``); the next command is the rerun, killed in its turn at the next
point, so the whole period is redone only where a kill makes it so:

- a copy of the clean period (computed, signed off, not published), where two insurers
  redeliver the same rows under a new delivery id and the seeds' record is gone: the
  period must be ingested again, the seeds loaded, the method run, signed off and
  published;
- ``ingest_delivery`` (one insurer) and the calendar's alerts run as the UI's run worker runs them
  (Dagster's own ``dagster job execute``), the rest through the CLI;
- after every command: no visible revision that is not whole, no sign-off line torn or
  doubled, the landing zone untouched, and (after every CLI command, which fails the runs
  of dead processes) no run left STARTED but the one of the process just killed;
- at the end: one revision, equal to the clean period's uninterrupted release
  (``release_as_published``), one sign-off, every alert sent once, the portal's database
  migrated and its static files complete, no run in progress.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.commands.crash_points import all_crash_points, job_crash_points, portal_crash_points
from tests.conftest import SUMMARY_PROPERTY
from tests.support.delivery_factory import clean_period, write_delivery
from tests.support.pipeline import (
    PROCESS_SETTINGS,
    Done,
    assert_revision_complete,
    digests,
    release_as_published,
    visible_revisions,
)
from tests.support.served import REPO_ROOT

PERIOD = "2024-v1"
REDELIVERED = ("cz", "vgz")  # cz by the UI's ingest_delivery run, vgz by `spiegel run`
NEW_DELIVERY = "20241012T0930"
COMMENT = "after every kill"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


class WarmParent:
    """``tests/support/forking.py``: one child process per command, forked after the imports."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.calls = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith(PROCESS_SETTINGS)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.forking"],
            cwd=REPO_ROOT,
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def run(self, data: Path, call: dict, crash_at: str | None = None) -> Done:
        self.calls += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(PROCESS_SETTINGS)}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            SPIEGEL_DATA_DIR=str(data),
            DAGSTER_HOME=str(data / "dagster_home"),
            SPIEGEL_CRASH_AT=crash_at or "armed",
        )
        out, err = self.folder / f"{self.calls:02d}.out", self.folder / f"{self.calls:02d}.err"
        self.process.stdin.write(json.dumps({**call, "env": env, "stdout": str(out), "stderr": str(err)}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return Done(answer["returncode"], out.read_text(errors="replace"), err.read_text(errors="replace"))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def warm(tmp_path):
    parent = WarmParent(tmp_path / "output")
    (tmp_path / "output").mkdir()
    yield parent
    parent.close()


def _runs_in_progress(data: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        return [r.dagster_run for r in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS))]


def _assert_killed_at(data: Path, point: str) -> None:
    """A step point: the newest run's last step event is that boundary (STEP_START for
    ``before``, STEP_SUCCESS for ``after``), stored, and nothing of the run after it. (The
    crash point's own line on stderr may be lost: Dagster captures a step's output through
    a subprocess of the same process group.)"""
    if not point.startswith("step:"):
        return
    _, job, step, when = point.split(":")
    boundary = {"before": dg.DagsterEventType.STEP_START, "after": dg.DagsterEventType.STEP_SUCCESS}[when]
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        (newest,) = instance.get_run_records(limit=1)
        events = [e.dagster_event for e in instance.all_logs(newest.dagster_run.run_id) if e.dagster_event]
    steps = [e for e in events if e.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS)]
    assert (newest.dagster_run.job_name, steps[-1].step_key, steps[-1].event_type) == (job, step, boundary), point
    assert not any(e.event_type == dg.DagsterEventType.RUN_SUCCESS for e in events), point


def _signoff_lines(data: Path) -> list[dict]:
    text = (data / "signoffs.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n"), "a sign-off line was cut short"
    return [json.loads(line) for line in text.splitlines()]


def _assert_nothing_half_done(data: Path, landed: dict[str, str]) -> None:
    period_dir = data / "releases" / PERIOD
    for revision in visible_revisions(period_dir):
        assert_revision_complete(period_dir / revision)
    assert len([s for s in _signoff_lines(data) if s["comment"] == COMMENT]) <= 1
    assert digests(data / "landing") == landed


def _redelivered_copy(clean_release, data: Path) -> None:
    """The clean period computed and signed off, before publishing; then two insurers
    redeliver their rows under a new id, and the record of the seeds being loaded is gone."""
    shutil.copytree(clean_release["data"], data, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    rows = clean_period(PERIOD)
    for insurer in REDELIVERED:
        write_delivery(data / "landing", PERIOD, insurer, NEW_DELIVERY, rows=rows[insurer])
    (data / "dbt_target" / "seeds_loaded.txt").unlink()


def _dagster_job(job: str, data: Path, config: dict, partition: dict[str, str] | None = None) -> dict:
    """The job as Dagster itself creates and executes a run (``dagster job execute``: what a
    run worker does), tagged with the partition (``partition``: its tags) as the UI's
    launchpad does."""
    config_file = data.parent / f"{job}.json"
    config_file.write_text(json.dumps(config))
    tags = {"spiegel/trigger": "ui", **(partition or {})}
    args = ["job", "execute", "-m", "orchestration.definitions", "-j", job, "-c", str(config_file)]
    return {"dagster": [*args, "--tags", json.dumps(tags)]}


def _scenario(data: Path) -> list[tuple[dict, list[str], bool]]:
    """Each command, the crash points it is killed at (taken from the enumeration, in the
    order a run passes them), and whether it is then run once more, not killed."""
    jobs, d = job_crash_points(), str(data)
    run = {"spiegel": ["run", "--data-dir", d, "--period", PERIOD]}
    signoff = {"spiegel": ["signoff", "--data-dir", d, "--period", PERIOD, "--by", "bram", "--comment", COMMENT]}
    publish = {"spiegel": ["publish", "--data-dir", d, "--period", PERIOD]}
    serve = {"spiegel": ["portal", "serve", "--data-dir", d, "--port", "1"]}
    # the UI's rerun of one insurer: the delivery asset's partition (insurer|period)
    cz = {"dagster/partition": f"cz|{PERIOD}", "dagster/partition/insurer": "cz", "dagster/partition/period": PERIOD}
    ingest_cz = _dagster_job("ingest_delivery", data, {}, cz)
    calendar = _dagster_job("release_calendar_alerts", data, {})
    return [
        (ingest_cz, jobs["ingest_delivery"], False),
        (run, jobs["ingest_period"] + jobs["load_configuration"] + jobs["compute_period"], True),
        (calendar, jobs["release_calendar_alerts"], False),
        (signoff, jobs["sign_off"], True),
        (publish, jobs["publish_release"], True),
        (serve, portal_crash_points(), False),  # serving for good is portal_ready's check below
    ]


def test_a_kill_at_every_step_loses_nothing_and_leaves_nothing_half_done(
    clean_release, warm, tmp_path, record_property
):
    points = all_crash_points()
    listing = f"{len(points)} crash points, each killed at:\n  " + "\n  ".join(points)
    print(listing)
    record_property(SUMMARY_PROPERTY, listing)  # in CI's output (tests/conftest.py)
    data = tmp_path / "data"
    _redelivered_copy(clean_release, data)
    landed = digests(data / "landing")

    killed_at, reruns = [], {}
    for call, crash_points, rerun in _scenario(data):
        for point in crash_points:
            done = warm.run(data, call, crash_at=point)
            assert done.killed, (point, done)
            _assert_killed_at(data, point)
            killed_at.append(point)
            _assert_nothing_half_done(data, landed)
            # a CLI command fails the runs of dead processes before its own: only its own is left
            assert len(_runs_in_progress(data)) <= (1 if "spiegel" in call else 2), point
        if rerun:
            done = reruns[call["spiegel"][0]] = warm.run(data, call)
            assert done.returncode == 0, (call, done)
            assert _runs_in_progress(data) == [], call
            _assert_nothing_half_done(data, landed)
    assert sorted(killed_at) == sorted(points)  # every enumerated point, each once

    # one whole release, the one of an uninterrupted run, and one sign-off
    period_dir = data / "releases" / PERIOD
    assert visible_revisions(period_dir) == ["r1"] and not list(period_dir.glob(".tmp-*"))
    assert release_as_published(period_dir / "r1") == release_as_published(clean_release["release"])
    mine = [s for s in _signoff_lines(data) if s["comment"] == COMMENT]
    assert len(mine) == 1 and "already signed off by bram" in reruns["signoff"].stdout
    release = json.loads((period_dir / "r1" / "release.json").read_text())
    assert release["signoff"]["signoff_id"] == mine[0]["signoff_id"]
    assert {d["insurer"]: d["delivery_id"] for d in release["insurers"] if d["insurer"] in REDELIVERED} == {
        insurer: NEW_DELIVERY for insurer in REDELIVERED
    }
    assert "already published as r1 with this sign-off; nothing to do" in reruns["publish"].stdout

    # every alert once (the calendar's run also sends each failed run's message)
    sent = [json.loads(line)["key"] for line in (data / "alerts" / "sent.jsonl").read_text().splitlines()]
    assert sent and len(sent) == len(set(sent))
    assert len(list((data / "alerts" / "mail").iterdir())) == len(sent)

    # the portal's set-up completes after its kills: migrated, its static files whole
    ready = warm.run(data, {"call": "tests.end_to_end.test_kill_every_step:portal_ready", "args": [str(data)]})
    assert ready.returncode == 0 and "nothing to migrate, every static file there" in ready.stdout, ready
    assert _runs_in_progress(data) == []


def portal_ready(data_dir: str) -> None:
    """(In a child of the warm parent.) The portal's set-up as ``serve`` does it, then
    proof that it is complete: nothing left to migrate, every file of the static
    manifest present."""
    from django.conf import settings
    from django.core.management import call_command

    from portal import operations

    operations.collect_static(Path(data_dir))
    call_command("migrate", check=True, interactive=False, verbosity=0)  # exits 1 when one is unapplied
    root = Path(settings.STATIC_ROOT)
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    assert manifest and all((root / hashed).is_file() for hashed in manifest.values())
    print("nothing to migrate, every static file there")
