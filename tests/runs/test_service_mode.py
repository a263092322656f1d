"""Service mode: ``dagster.yaml`` from the settings, the supervisor's restart policy and its
process handling, and ``spiegel serve`` end to end on a throwaway PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from orchestration.commands.serve import (
    DAEMON,
    PORTAL,
    WEBSERVER,
    RestartPolicy,
    describe_exit,
    service_children,
    service_environment,
)
from orchestration.core.settings import REPO_ROOT, SpiegelPaths
from orchestration.runs.instance import (
    DATABASE_URL_ENV,
    MARKER,
    WAREHOUSE_TAG,
    InstanceSettingsError,
    dagster_yaml,
    write_dagster_yaml,
)
from orchestration.runs.stale_runs import process_started_at

PG_URL = "postgresql+psycopg2://spiegel:secret@db.example:5432/dagster"


# --- dagster.yaml from the settings -------------------------------------------------------


def test_dagster_yaml_keeps_sqlite_by_default_with_the_run_queue_and_run_monitoring():
    text = dagster_yaml({})
    config = yaml.safe_load(text)
    assert text.startswith(MARKER)
    assert "storage" not in config  # Dagster's default: SQLite files in DAGSTER_HOME
    assert config["run_coordinator"] == {"module": "dagster", "class": "QueuedRunCoordinator"}
    runs = config["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] == 3  # not a global limit of 1: readers may run beside the writer
    assert runs["tag_concurrency_limits"] == [{"key": WAREHOUSE_TAG, "value": "write", "limit": 1}]
    assert config["run_launcher"] == {"module": "orchestration.runs.stale_runs", "class": "ProcessCheckingRunLauncher"}
    assert config["run_monitoring"] == {
        "enabled": True,
        "start_timeout_seconds": 180,
        "cancel_timeout_seconds": 180,
        "max_resume_run_attempts": 0,
        "poll_interval_seconds": 30,
    }
    assert config["telemetry"] == {"enabled": False}


def test_dagster_yaml_puts_the_instance_in_postgresql_by_reference_to_the_variable():
    text = dagster_yaml({DATABASE_URL_ENV: PG_URL, "SPIEGEL_RUN_MONITORING_INTERVAL": "7"})
    config = yaml.safe_load(text)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": DATABASE_URL_ENV}}}
    assert "secret" not in text  # the password stays in the environment
    assert config["run_monitoring"]["poll_interval_seconds"] == 7


@pytest.mark.parametrize(
    "setting",
    [
        {DATABASE_URL_ENV: "postgres://u@h/db"},  # the portal's spelling: not SQLAlchemy's
        {DATABASE_URL_ENV: "postgresql://u@h/db"},  # SQLAlchemy 2.1 reads this as psycopg 3
        {DATABASE_URL_ENV: "mysql://u@h/db"},
        {"SPIEGEL_DAGSTER_MAX_CONCURRENT_RUNS": "0"},
        {"SPIEGEL_RUN_START_TIMEOUT": "soon"},
        {"SPIEGEL_SENSOR_INTERVAL": "0"},
    ],
)
def test_settings_dagster_cannot_use_are_refused_in_one_line(setting):
    with pytest.raises(InstanceSettingsError) as refused:
        dagster_yaml(setting)
    assert "\n" not in str(refused.value) and next(iter(setting)) in str(refused.value)


def test_the_sensors_tick_at_the_interval_of_the_environment():
    probe = (
        "from orchestration.runs import sensors; "
        "print([s.minimum_interval_seconds for s in (sensors.landing_sensor, sensors.period_sensor)])"
    )
    for environ, expected in (({}, "[30, 30]"), ({"SPIEGEL_SENSOR_INTERVAL": "5"}, "[5, 5]")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPIEGEL_")} | environ
        done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == expected


def test_the_file_is_regenerated_while_it_carries_the_marker_and_left_alone_without(tmp_path):
    target = tmp_path / "dagster.yaml"
    assert write_dagster_yaml(tmp_path, {})
    assert target.read_text() == dagster_yaml({})
    # the settings change: the next start writes them
    assert write_dagster_yaml(tmp_path, {DATABASE_URL_ENV: PG_URL})
    assert target.read_text() == dagster_yaml({DATABASE_URL_ENV: PG_URL})
    # the file of an earlier version of Spiegel carries the marker too
    target.write_text("# Written by Spiegel on first use; edit freely.\nrun_queue:\n  max_concurrent_runs: 1\n")
    assert write_dagster_yaml(tmp_path, {})
    assert target.read_text() == dagster_yaml({})
    # an operator's own file (the marker removed) is theirs
    own = "# ours\nrun_queue:\n  max_concurrent_runs: 5\n"
    target.write_text(own)
    assert not write_dagster_yaml(tmp_path, {DATABASE_URL_ENV: PG_URL})
    assert target.read_text() == own
    assert [p.name for p in tmp_path.iterdir()] == ["dagster.yaml"]  # no temporary file left


def test_a_command_without_the_database_url_does_not_move_a_postgresql_instance_to_sqlite(tmp_path):
    write_dagster_yaml(tmp_path, {DATABASE_URL_ENV: PG_URL})
    with pytest.raises(InstanceSettingsError, match=DATABASE_URL_ENV):
        write_dagster_yaml(tmp_path, {})
    assert "postgres_url" in (tmp_path / "dagster.yaml").read_text()


def test_every_job_that_writes_the_warehouse_carries_the_writer_tag():
    from orchestration.runs.jobs import ALL_JOBS

    tags = {job.name: job.tags.get(WAREHOUSE_TAG) for job in ALL_JOBS}
    assert tags == {
        "load_configuration": "write",
        "ingest_period": "write",
        "ingest_delivery": "write",
        "compute_period": "write",
        "sign_off": "read",
        "publish_release": "read",
    }


def test_serve_prepare_only_writes_the_instance_and_prints_the_three_commands(tmp_path, capsys, monkeypatch):
    from tests.support.pipeline import spiegel

    monkeypatch.setenv(DATABASE_URL_ENV, PG_URL)
    assert spiegel(tmp_path / "data", "serve", "--prepare-only", "--dagster-port", "3100") == 0
    out = capsys.readouterr().out
    assert "PostgreSQL" in out
    assert [line.split(":", 1)[0] for line in out.splitlines()[1:]] == [WEBSERVER, DAEMON, PORTAL]
    assert " -p 3100" in out
    written = (tmp_path / "data" / "dagster_home" / "dagster.yaml").read_text()
    assert written == dagster_yaml({DATABASE_URL_ENV: PG_URL})


# --- the supervisor's pure parts ------------------------------------------------------------


def test_the_restart_back_off_doubles_up_to_a_minute_and_starts_over_after_a_good_run():
    policy = RestartPolicy()
    assert [policy.delay_after_exit(ran_for=2) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.delay_after_exit(ran_for=61) == 1  # it ran a while: a new failure, not the tenth
    assert policy.delay_after_exit(ran_for=0.5) == 2
    quick = RestartPolicy(first=0.5, maximum=3, stable_after=10)
    assert [quick.delay_after_exit(1) for _ in range(5)] == [0.5, 1, 2, 3, 3]


def test_the_children_are_the_webserver_read_write_the_daemon_and_the_portal(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    bin_dir = Path(sys.executable).parent
    workspace = str(REPO_ROOT / "workspace.yaml")
    web, daemon, portal = service_children(paths, host="0.0.0.0", dagster_port=3100, portal_port=8100, portal_workers=3)
    assert (web.name, daemon.name, portal.name) == (WEBSERVER, DAEMON, PORTAL)
    assert web.argv == (str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", "0.0.0.0", "-p", "3100")
    assert "--read-only" not in web.argv
    assert (web.url, web.probe) == ("http://127.0.0.1:3100/", "http://127.0.0.1:3100/server_info")
    assert daemon.argv == (str(bin_dir / "dagster-daemon"), "run", "-w", workspace)
    assert daemon.probe is None
    assert portal.argv == (
        sys.executable,
        "-m",
        "orchestration.cli",
        "portal",
        "serve",
        "--data-dir",
        str(paths.data_dir),
        "--host",
        "0.0.0.0",
        "--port",
        "8100",
        "--workers",
        "3",
    )
    prefixed, _, _ = service_children(paths, path_prefix="dagster/")
    assert prefixed.argv[-2:] == ("--path-prefix", "/dagster")
    assert prefixed.probe == "http://127.0.0.1:3000/dagster/server_info"

    environ = {"DAGSTER_HOME": "/d/dagster_home", "PYTHONPATH": "/elsewhere"}
    env = service_environment(environ)
    assert env["SPIEGEL_SERVICE_MODE"] == "1" and env["DAGSTER_HOME"] == "/d/dagster_home"
    assert env["PYTHONPATH"] == f"{REPO_ROOT}{os.pathsep}/elsewhere"
    assert "SPIEGEL_SERVICE_MODE" not in environ
    # each child learns the other's address, unless the deployment names a public one
    children = service_children(paths, host="0.0.0.0", dagster_port=3100, portal_port=8100)
    env = service_environment(environ, children)
    assert env["SPIEGEL_DAGSTER_URL"] == "http://127.0.0.1:3100"
    assert env["SPIEGEL_PORTAL_URL"] == "http://127.0.0.1:8100"
    public = {**environ, "SPIEGEL_DAGSTER_URL": "https://spiegel.example/dagster"}
    assert service_environment(public, children)["SPIEGEL_DAGSTER_URL"] == "https://spiegel.example/dagster"
    assert describe_exit(-9) == "killed by SIGKILL" and describe_exit(3) == "exit code 3"


# --- the supervisor with stand-in children --------------------------------------------------

_FAKE_SUPERVISOR = """
import signal, sys
from orchestration.commands.serve import ChildSpec, RestartPolicy, Supervisor

py = sys.executable
# a child with a grandchild in its process group (as the daemon has its code server and run workers)
parent = ChildSpec("parent", (py, "-c",
    "import subprocess, sys, time\\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\\n"
    "time.sleep(600)"))
# a child that ignores SIGTERM: killed after the grace period
stubborn = ChildSpec("stubborn", (py, "-c",
    "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(600)"))
supervisor = Supervisor([parent, stubborn], {}, stop_seconds=3, log=lambda m: print(m, flush=True),
                        policy=lambda: RestartPolicy(first=1, maximum=60, stable_after=60), tick=0.1)
signal.signal(signal.SIGTERM, supervisor.stop)
print("clean" if supervisor.run() else "killed", flush=True)
"""


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> dict[int, float]:
    """pid -> start time of every live process below ``pid``."""
    found, todo = {}, [pid]
    while todo:
        for child in _children_of(todo.pop()):
            started = process_started_at(child)
            if started is not None:
                found[child] = started
                todo.append(child)
    return found


def _alive(processes: dict[int, float]) -> list[int]:
    return [pid for pid, started in processes.items() if process_started_at(pid) == started]


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def _kill_all(processes: dict[int, float]) -> None:
    for pid in _alive(processes):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_supervisor_restarts_a_killed_child_without_its_leftovers_and_stops_everything(tmp_path):
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "w") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", _FAKE_SUPERVISOR],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen: dict[int, float] = {}
    try:

        def started(name: str) -> list[int]:
            return [int(p) for p in re.findall(rf"started {name} \(pid (\d+)\)", log_path.read_text())]

        [parent] = _wait_for(lambda: started("parent"), 30, "the first child")
        [grandchild] = _wait_for(lambda: _children_of(parent), 30, "the grandchild")
        seen.update(_descendants(supervisor.pid))
        os.kill(parent, signal.SIGKILL)
        # restarted once its group is gone: the grandchild is stopped, not left behind
        _wait_for(lambda: len(started("parent")) == 2, 30, "the restart")
        text = log_path.read_text()
        assert re.search(r"parent \(pid \d+\) exited \(killed by SIGKILL\) after \d+ s; restarting it in 1 s", text)
        assert process_started_at(grandchild) is None
        new_parent = started("parent")[-1]
        _wait_for(lambda: _children_of(new_parent), 30, "the new parent's grandchild")
        seen.update(_descendants(supervisor.pid))
        assert len(_alive(seen)) == 3  # the new parent, its grandchild, the stubborn child

        began = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
        assert time.monotonic() - began < 10
        text = log_path.read_text()
        assert "stubborn did not stop within 3 s: killed" in text and text.rstrip().endswith("killed")
        assert _alive(seen) == []
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait()
        _kill_all(seen)


# --- spiegel serve, end to end --------------------------------------------------------------

PERIOD = "2024-v1"
LATE, REDELIVERED = "20241005T0930", "20241020T0930"

RUNS = """{ runsOrError { __typename ... on Runs { results { runId jobName status tags { key value } } } } }"""
FAILURE = """query ($id: ID!) { runOrError(runId: $id) { ... on Run { status
  eventConnection { events { __typename ... on MessageEvent { message } } } } } }"""


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]


def _runs(port: int) -> list[dict]:
    try:
        runs = _graphql(port, RUNS)["runsOrError"]["results"]
    except OSError:
        return []  # the webserver is busy or restarting: ask again
    return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in runs]


def _dagster_database(url: str) -> str:
    """A database for Dagster in the throwaway cluster; its SQLAlchemy URL (psycopg2, socket)."""
    from urllib.parse import unquote

    import psycopg

    socket_dir = unquote(url.split("@", 1)[1].split("/", 1)[0])
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as con:
        con.execute("create database spiegel_dagster")
    return f"postgresql+psycopg2://postgres@/spiegel_dagster?host={socket_dir}"


@pytest.mark.slow
def test_spiegel_serve_ingests_computes_survives_a_killed_daemon_and_stops_on_sigterm(tmp_path):
    """A delivery copied into landing/ is ingested and its period computed by the daemon's
    sensors (seen through the webserver's GraphQL); the daemon killed with SIGKILL (its
    whole process group, run worker included) is restarted and run monitoring fails the run
    it left, with a reason; SIGTERM stops every process within 30 s."""
    from orchestration.core.locks import file_lock
    from orchestration.core.seeds import required_insurers
    from orchestration.runs import runner
    from orchestration.runs.instance import use_data_dir
    from tests.support.delivery_factory import clean_period, write_delivery
    from tests.support.pg_cluster import postgres_bin, throwaway_cluster
    from tests.support.pipeline import _restored_environment
    from tests.support.served import free_port

    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed (bash scripts/setup.sh)")
    paths = SpiegelPaths(tmp_path / "data")
    insurers = required_insurers(PERIOD)
    rows = clean_period(PERIOD)
    *earlier, late = insurers
    dagster_port, portal_port = free_port(), free_port()
    processes: dict[int, float] = {}
    serve = None
    with throwaway_cluster() as portal_url:
        database = _dagster_database(portal_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIEGEL_", "DAGSTER_"))}
        # the sensors every 5 s instead of 30: the same ticks, less waiting for them
        env.update({DATABASE_URL_ENV: database, "SPIEGEL_RUN_MONITORING_INTERVAL": "5", "SPIEGEL_SENSOR_INTERVAL": "5"})
        with _restored_environment():
            # six insurers' deliveries were ingested earlier by the CLI, on the same instance
            os.environ[DATABASE_URL_ENV] = database
            use_data_dir(paths)
            for insurer in earlier:
                write_delivery(paths.landing, PERIOD, insurer, LATE, rows=rows[insurer])
            ingested = runner.ingest_period(PERIOD)  # as `spiegel run` does: one run for the six
            assert ingested.success and ingested.output == dict.fromkeys(earlier, "passed"), ingested.output
        log_path = tmp_path / "serve.log"
        log = open(log_path, "w")
        try:
            serve = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orchestration.cli",
                    "serve",
                    "--data-dir",
                    str(paths.data_dir),
                    "--dagster-port",
                    str(dagster_port),
                    "--portal-port",
                    str(portal_port),
                    "--portal-workers",
                    "1",
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

            def output() -> str:
                return log_path.read_text(errors="replace")

            def up() -> bool:
                assert serve.poll() is None, output()[-5000:]
                return "serving; SIGTERM or Ctrl-C stops every process" in output()

            _wait_for(up, 180, "spiegel serve to be up", interval=1)
            assert f"dagster-webserver is up: http://127.0.0.1:{dagster_port}/" in output()
            assert f"portal is up: http://127.0.0.1:{portal_port}/" in output()
            processes.update(_descendants(serve.pid))

            # the last insurer's delivery is copied into landing/ while the service runs
            staged = write_delivery(Path(tempfile.mkdtemp(dir=tmp_path)), PERIOD, late, LATE, rows=rows[late])
            (paths.landing / PERIOD / late).mkdir(parents=True)
            shutil.copytree(staged, paths.landing / PERIOD / late / ".incoming")
            (paths.landing / PERIOD / late / ".incoming").rename(paths.landing / PERIOD / late / LATE)

            def succeeded(job: str, **tags: str):
                return [
                    r
                    for r in _runs(dagster_port)
                    if r["jobName"] == job and r["status"] == "SUCCESS" and tags.items() <= r["tags"].items()
                ]

            def done() -> bool:
                assert serve.poll() is None, output()[-5000:]
                return bool(succeeded("compute_period", **{"dagster/partition": PERIOD}))

            _wait_for(done, 360, "the period computed by the daemon's sensors", interval=3)
            # the late delivery's ingestion: the period's one ingestion run for what was new
            ingested = [
                r for r in succeeded("ingest_period") if f"{late}={LATE}" in r["tags"].get("spiegel/deliveries", "")
            ]
            assert len(ingested) == 1, succeeded("ingest_period")
            assert ingested[0]["tags"]["spiegel/trigger"] == "landing_sensor"
            assert ingested[0]["tags"][WAREHOUSE_TAG] == "write"
            computed = succeeded("compute_period")
            assert [r["tags"]["spiegel/trigger"] for r in computed] == ["period_sensor"]

            # a redelivery lands while the warehouse is held (as by an operator's `spiegel run`):
            # its ingestion starts and waits; then the daemon dies with its run worker
            with file_lock(paths.warehouse_lock, "the warehouse"):
                write_delivery(paths.landing, PERIOD, earlier[0], REDELIVERED, rows=rows[earlier[0]])

                def waiting():
                    return [
                        r
                        for r in _runs(dagster_port)
                        if r["jobName"] == "ingest_period"
                        and r["status"] == "STARTED"
                        and f"={REDELIVERED}" in r["tags"].get("spiegel/deliveries", "")
                    ]

                [orphan] = _wait_for(waiting, 120, "the redelivery's ingestion to start", interval=2)
                time.sleep(2)  # its worker waits for the warehouse lock now
                [daemon] = [int(p) for p in re.findall(r"started dagster-daemon \(pid (\d+)\)", output())]
                processes.update(_descendants(serve.pid))
                os.killpg(daemon, signal.SIGKILL)

                def restarted():
                    found = re.findall(r"started dagster-daemon \(pid (\d+)\) \(start 2\)", output())
                    return [int(p) for p in found]

                [again] = _wait_for(restarted, 60, "the daemon's restart", interval=0.5)
                assert re.search(r"dagster-daemon \(pid \d+\) exited \(killed by SIGKILL\) after \d+ s", output())
                assert again != daemon

                def failed():
                    answer = _graphql(dagster_port, FAILURE, {"id": orphan["runId"]})["runOrError"]
                    return answer if answer["status"] == "FAILURE" else None

                run = _wait_for(failed, 180, "run monitoring to fail the orphaned run", interval=2)
            reasons = [e["message"] for e in run["eventConnection"]["events"] if e["__typename"] == "RunFailureEvent"]
            assert any("no longer exists" in m and "Marked failed by Spiegel" in m for m in reasons), reasons
            processes.update(_descendants(serve.pid))

            began = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(timeout=60) == 0, output()[-3000:]
            time.sleep(0.5)
            assert _alive(processes) == [], f"left running: {_alive(processes)}"
            assert time.monotonic() - began < 30
            assert "spiegel serve: stopped" in output()
        finally:
            if serve is not None and serve.poll() is None:
                processes.update(_descendants(serve.pid))
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
            _kill_all(processes)
            log.close()


def test_the_systemd_units_run_what_spiegel_serve_runs():
    deploy = REPO_ROOT / "deploy"
    units = {p.name: p.read_text() for p in deploy.glob("*.service")}
    assert set(units) >= {
        "spiegel.service",
        "spiegel-dagster-webserver.service",
        "spiegel-dagster-daemon.service",
        "spiegel-portal.service",
    }
    assert "spiegel serve" in units["spiegel.service"]
    assert "dagster-webserver -w" in units["spiegel-dagster-webserver.service"]
    assert "dagster-daemon run -w" in units["spiegel-dagster-daemon.service"]
    assert "portal serve" in units["spiegel-portal.service"]
    for name, text in units.items():
        assert "EnvironmentFile=/etc/spiegel/spiegel.env" in text, name
        assert "SPIEGEL_SERVICE_MODE=1" in text or "spiegel serve" in text, name
    from orchestration.commands import serve
    from orchestration.core import service
    from orchestration.runs import instance

    example = (deploy / "spiegel.env.example").read_text()
    documented = set(re.findall(r"^#?(SPIEGEL_[A-Z0-9_]+|DAGSTER_HOME)=", example, re.M))
    ours = {
        instance.DATABASE_URL_ENV,
        instance.MAX_RUNS_ENV,
        instance.MONITORING_INTERVAL_ENV,
        instance.START_TIMEOUT_ENV,
        serve.STOP_SECONDS_ENV,
        serve.PATH_PREFIX_ENV,
        service.SERVICE_MODE_ENV,
        service.DAGSTER_URL_ENV,
        service.PORTAL_URL_ENV,
    }
    assert ours | {"SPIEGEL_DATA_DIR", "DAGSTER_HOME", "SPIEGEL_PORTAL_SECRET_KEY"} <= documented
    service_doc = (REPO_ROOT / "docs" / "service.md").read_text()
    assert [name for name in sorted(ours) if f"`{name}`" not in service_doc] == []
    nginx = (deploy / "nginx.conf.example").read_text()
    assert "X-Forwarded-Proto" in nginx and "X-Forwarded-For" in nginx and "auth_basic" in nginx
