"""Operators racing each other, from the CLI and from the UI at once (release/signoff.py,
release/publish.py, core/locks.py).

The UI's path is a run Dagster itself creates and executes (``dagster job execute``, as a
run worker executes what the webserver or the daemon launched), the CLI's is ``spiegel``;
both are real processes started together. Where the race would otherwise depend on luck,
the test holds the lock they contend for until both runs are inside their step, so they
really wait on each other. On a copy of the clean period (computed, gates passed):

- three sign-offs at once: anna from the CLI and, with the same comment, from the UI (a
  double submit), bram from the UI: anna's is recorded once, bram's once, every line
  whole, and the newest is the one in force;
- two publishes at once, carla from the CLI and dirk from the UI: exactly one revision,
  whose ``published_by`` names the one who made it; the other says, in one line, that it
  is published already;
- a publish racing a redelivery: while the UI's publish renders its reports, vgz
  redelivers and ``spiegel run`` computes the period again: the revision is whole and
  holds the figures and deliveries it read (the old ones), the run completes, and the next
  publish is refused in one line (the sign-off no longer covers the deliveries).

Every run ends (none left STARTED), each refusal is one line, and the sign-off log,
release.json and the Dagster runs together say who did what.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from orchestration.core.locks import file_lock
from orchestration.core.settings import SpiegelPaths
from orchestration.release.signoff import read_signoffs, signoff_lock_path
from tests.support.delivery_factory import clean_period, write_delivery
from tests.support.pipeline import PROCESS_SETTINGS, Done, assert_revision_complete, published_tables, visible_revisions
from tests.support.served import REPO_ROOT

PERIOD = "2024-v1"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROCESS_SETTINGS)}
    return {
        **env,
        "PYTHONPATH": str(REPO_ROOT),
        "SPIEGEL_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
    }


def _start(data: Path, argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        argv, cwd=REPO_ROOT, env=_env(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def cli(data: Path, command: str, *args: str) -> subprocess.Popen:
    return _start(data, [sys.executable, "-m", "orchestration.cli", command, "--data-dir", str(data), *args])


def ui(data: Path, job: str, op: str, config: dict, operator: str) -> subprocess.Popen:
    """The job as the UI runs it: a run Dagster creates and executes, with the launchpad's
    config and tags (``dagster job execute``)."""
    config_file = data.parent / f"{job}-{operator}-{time.monotonic_ns()}.json"
    config_file.write_text(json.dumps({"ops": {op: {"config": config}}}))
    tags = json.dumps({"dagster/partition": PERIOD, "spiegel/trigger": "ui", "spiegel/operator": operator})
    dagster = str(Path(sys.executable).with_name("dagster"))
    job_args = ["job", "execute", "-m", "orchestration.definitions", "-j", job, "-c", str(config_file)]
    return _start(data, [dagster, *job_args, "--tags", tags])


def finish(process: subprocess.Popen) -> Done:
    out, err = process.communicate(timeout=600)
    return Done(process.returncode, out, err)


def _instance(data: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(data / "dagster_home"))


def _runs(data: Path, job: str) -> list[dg.RunRecord]:
    with _instance(data) as instance:
        return list(instance.get_run_records(filters=dg.RunsFilter(job_name=job)))


def _steps_started(data: Path, job: str, since: int) -> int:
    """How many runs of ``job`` created after ``since`` runs of it have started their step."""
    with _instance(data) as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(job_name=job))
        fresh = sorted(records, key=lambda r: r.create_timestamp)[since:]
        return sum(1 for r in fresh if instance.all_logs(r.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START))


def race(lock_path: Path, data: Path, job: str, start: Callable[[], list[subprocess.Popen]]) -> list[Done]:
    """Start the racers while holding ``lock_path``, and let go once every one of their runs
    is in its step (so they all contend for it); then they race for it. Their outcomes."""
    before = len(_runs(data, job))
    with file_lock(lock_path, "the racing test's hold", timeout=5):
        racers = start()
        deadline = time.monotonic() + 300
        while _steps_started(data, job, before) < len(racers) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in racers), [finish(p) for p in racers if p.poll() is not None]
            time.sleep(0.2)
        time.sleep(1.0)  # each is past its step's first lines and asking for the lock
    return [finish(p) for p in racers]


def _failure_messages(data: Path, run_id: str) -> list[str]:
    with _instance(data) as instance:
        failures = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        return [e.dagster_event.event_specific_data.user_failure_data.description for e in failures]


def _materialized(data: Path, run_id: str) -> dict:
    with _instance(data) as instance:
        (entry,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        return {k: getattr(v, "value", v) for k, v in entry.asset_materialization.metadata.items()}


def _assert_every_run_ended(data: Path) -> None:
    with _instance(data) as instance:
        assert not instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS))


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_racing_operators_make_one_revision_each_refusal_in_one_line_and_a_complete_audit(clean_release, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    paths = SpiegelPaths(data)
    period_dir = data / "releases" / PERIOD
    signed_before = len(read_signoffs(paths, PERIOD))

    # -- three sign-offs at once: anna twice (CLI and UI, the same comment), bram from the UI
    done = race(
        signoff_lock_path(paths),
        data,
        "sign_off",
        lambda: [
            cli(data, "signoff", "--period", PERIOD, "--by", "anna", "--comment", "ready"),
            ui(data, "sign_off", "signoff", {"by": "anna", "comment": "ready"}, "anna"),
            ui(data, "sign_off", "signoff", {"by": "bram", "comment": "checked too"}, "bram"),
        ],
    )
    assert [d.returncode for d in done] == [0, 0, 0], done
    lines = [json.loads(line) for line in (data / "signoffs.jsonl").read_text().splitlines()]  # every line whole
    new = [(s["by"], s["comment"]) for s in lines[signed_before:]]
    assert sorted(new) == [("anna", "ready"), ("bram", "checked too")], new
    signed = [_materialized(data, r.dagster_run.run_id) for r in _runs(data, "sign_off")[:3]]
    assert sorted((m["signed off by"], m["written"]) for m in signed) == [
        ("anna", False),
        ("anna", True),
        ("bram", True),
    ], signed
    if "already signed off by anna" in done[0].stdout:  # the CLI came second: it says so, in one line
        assert "recorded once, nothing written" in _one_line(done[0].stdout)
    newest = read_signoffs(paths, PERIOD)[-1]
    _assert_every_run_ended(data)

    # -- two publishes at once: carla from the CLI, dirk from the UI
    done = race(
        data / "releases" / ".publish.lock",
        data,
        "publish_release",
        lambda: [
            cli(data, "publish", "--period", PERIOD, "--by", "carla"),
            ui(data, "publish_release", "release", {"by": "dirk"}, "dirk"),
        ],
    )
    assert [d.returncode for d in done] == [0, 0], done
    assert visible_revisions(period_dir) == ["r1"] and not list(period_dir.glob(".tmp-*"))
    assert_revision_complete(period_dir / "r1")
    r1 = json.loads((period_dir / "r1" / "release.json").read_text())
    assert r1["signoff"]["signoff_id"] == newest.signoff_id
    published = [_materialized(data, r.dagster_run.run_id) for r in _runs(data, "publish_release")[:2]]
    made = {m["requested by"]: m["created"] for m in published}
    assert {m["published by"] for m in published} == {r1["published_by"]["account"]}
    publisher = r1["published_by"]["account"]
    assert made == {publisher: True, ({"carla", "dirk"} - {publisher}).pop(): False}, made
    if publisher == "dirk":  # the CLI's publish came second
        assert "already published as r1 with this sign-off; nothing to do" in done[0].stdout
    assert published_tables(period_dir / "r1") == published_tables(clean_release["release"])
    _assert_every_run_ended(data)

    # -- a publish racing a redelivery: vgz redelivers and `spiegel run` starts while the UI publishes r2
    shutil.copytree(period_dir / "r1", tmp_path / "r1-before")
    signed = finish(cli(data, "signoff", "--period", PERIOD, "--by", "bram", "--comment", "second look"))
    assert signed.returncode == 0, signed
    publishing = ui(data, "publish_release", "release", {"by": "anna"}, "anna")
    deadline = time.monotonic() + 300
    while not list(period_dir.glob(".tmp-r2-*")) and time.monotonic() < deadline:  # it has read the warehouse
        assert publishing.poll() is None, finish(publishing)
        time.sleep(0.05)
    write_delivery(data / "landing", PERIOD, "vgz", "20241112T0930", rows=clean_period(PERIOD)["vgz"])
    rerun = cli(data, "run", "--period", PERIOD)
    published, ran = finish(publishing), finish(rerun)
    assert published.returncode == 0 and ran.returncode == 0, (published, ran)
    assert visible_revisions(period_dir) == ["r1", "r2"] and not list(period_dir.glob(".tmp-*"))
    assert_revision_complete(period_dir / "r2")
    r2 = json.loads((period_dir / "r2" / "release.json").read_text())
    assert {d["insurer"]: d["delivery_id"] for d in r2["insurers"]}["vgz"] == "20241005T0930"  # what it read
    assert published_tables(period_dir / "r2") == published_tables(clean_release["release"])
    assert r2["published_by"]["account"] == "anna" and r2["signoff"]["by"] == "bram"
    assert {p.name: p.read_bytes() for p in (period_dir / "r1").rglob("*") if p.is_file()} == {
        p.name: p.read_bytes() for p in (tmp_path / "r1-before").rglob("*") if p.is_file()
    }
    refused = finish(cli(data, "publish", "--period", PERIOD, "--by", "carla"))
    assert refused.returncode == 1
    assert _one_line(refused.stderr) == (
        f"spiegel publish: publish of {PERIOD} refused: no valid sign-off covers its current deliveries; "
        f"record one with `spiegel signoff --period {PERIOD} --by NAME --comment TEXT`"
    )
    last = _runs(data, "publish_release")[0]  # the newest
    assert last.dagster_run.status == dg.DagsterRunStatus.FAILURE
    assert _failure_messages(data, last.dagster_run.run_id) == [
        refused.stderr.strip().removeprefix("spiegel publish: ")
    ]
    assert visible_revisions(period_dir) == ["r1", "r2"]
    _assert_every_run_ended(data)
