"""The operations team's alerts (docs/alerts.md): one message per event, read back from the
file mail backend (``<data dir>/alerts/mail/*.eml``), never repeated on later ticks."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.core.calendar import calendar_first_period, planned_date, planned_schedule
from orchestration.core.settings import SpiegelPaths
from orchestration.runs.alerts import sending
from orchestration.runs.alerts.check import ALL_KINDS, CALENDAR_KINDS, SENSOR_KINDS, run_check
from orchestration.runs.instance import use_data_dir
from tests.support.alert_mail import mails, sent_log
from tests.support.delivery_factory import clean_period, write_delivery
from tests.support.pipeline import _restored_environment, evaluate_sensor, spiegel

PERIOD = "2024-v1"  # planned for 2024-10-15 (the default schedule)
DELIVERY = "20241005T0930"


# --------------------------------------------------------------------------- helpers


def subjects(paths: SpiegelPaths) -> list[str]:
    return [m["Subject"] for m in mails(paths)]


def body(message: email.message.EmailMessage) -> str:
    return message.get_content()


@pytest.fixture
def env(monkeypatch):
    """No mail server, no webhook, the default recipients: whatever the machine has set."""
    for name in (
        "SPIEGEL_PORTAL_EMAIL_HOST",
        "SPIEGEL_ALERT_WEBHOOK_URL",
        "SPIEGEL_ALERT_TO",
        "SPIEGEL_ALERT_DAYS",
        "SPIEGEL_DAGSTER_URL",
        "SPIEGEL_CALENDAR_FIRST_PERIOD",
        "SPIEGEL_PORTAL_PLANNED_V1",
        "SPIEGEL_PORTAL_PLANNED_V2",
        "SPIEGEL_PORTAL_PLANNED_V3",
        "SPIEGEL_SERVICE_MODE",
        "SPIEGEL_CLOCK_CHECK",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def vgz_blocked(tmp_path_factory) -> Path:
    """2024-v1 landed for every required insurer, vgz with May under-delivered (1 of its ~10
    lines), and only vgz ingested and gated (a real ingest_delivery run): the completeness
    gate blocks it. No alert sent yet; each test works on a copy."""
    root = tmp_path_factory.mktemp("alerts") / "data"
    paths = SpiegelPaths(root)
    for insurer, lines in clean_period(PERIOD).items():
        if insurer == "vgz":
            may = [r for r in lines if r["service_date"].startswith("2024-05")]
            lines = [r for r in lines if not r["service_date"].startswith("2024-05")] + may[:1]
        write_delivery(paths.landing, PERIOD, insurer, DELIVERY, rows=lines)
    from orchestration.runs import runner

    with _restored_environment():
        use_data_dir(paths)
        outcome = runner.ingest(PERIOD, "vgz")
    assert outcome.blocked_by_check, outcome  # the gate's verdict, not a crash
    return root


@pytest.fixture
def blocked(vgz_blocked, tmp_path) -> SpiegelPaths:
    data = tmp_path / "data"
    shutil.copytree(vgz_blocked, data, symlinks=True)
    return SpiegelPaths(data)


# --------------------------------------------------------------------------- the planned date


def test_the_planned_date_follows_the_portals_schedule_and_its_settings(env):
    assert planned_date("2024-v1") == date(2024, 10, 15)
    assert planned_date("2024-v2") == date(2025, 1, 15)
    assert planned_date("2024-v3") == date(2025, 4, 15)
    env.setenv("SPIEGEL_PORTAL_PLANNED_V1", "07-01")
    assert planned_date("2024-v1") == date(2024, 7, 1)  # the first such day after 30 June
    env.setenv("SPIEGEL_PORTAL_PLANNED_V1", "06-30")
    assert planned_date("2024-v1") == date(2025, 6, 30)  # not after the last treatment date: next year
    env.setenv("SPIEGEL_PORTAL_PLANNED_V1", "02-29")
    with pytest.raises(ValueError, match="SPIEGEL_PORTAL_PLANNED_V1"):
        planned_schedule()
    assert calendar_first_period() is None
    env.setenv("SPIEGEL_CALENDAR_FIRST_PERIOD", "2023-v2")
    assert calendar_first_period() == "2023-v2"


# --------------------------------------------------------------------------- gate blocks


def test_an_underdelivered_month_is_one_mail_naming_the_insurer_and_the_month_after_many_ticks(blocked, env):
    from orchestration.runs.alerts.automation import alerts_sensor, run_failure_alerts
    from orchestration.runs.jobs import INGEST_JOB

    paths = blocked
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        # the daemon's ticks: the first sends, the next ones see nothing changed (the cursor)
        first = evaluate_sensor(alerts_sensor, instance)
        assert first.cursor
        cursor = first.cursor
        for _ in range(3):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, sensor_name=alerts_sensor.name)
            result = alerts_sensor(context)
            cursor = getattr(result, "cursor", None) or cursor
        evaluate_sensor(alerts_sensor, instance)  # a tick without the cursor (a reset sensor): the sent log
        for _ in range(2):  # and the plain check, as `spiegel alerts check` runs it
            assert run_check(paths, SENSOR_KINDS).sent == []

        # the ingest run failed on the blocking check: that is the gate's verdict, not a failed run
        [run] = instance.get_runs(filters=dg.RunsFilter(job_name=INGEST_JOB))
        [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name=run_failure_alerts.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure.dagster_event,
        ).for_run_failure()
        run_failure_alerts(context)

    [message] = mails(paths)
    assert (
        message["Subject"]
        == f"[Spiegel] {PERIOD}: vgz delivery {DELIVERY} blocked by delivery_completeness, month 2024-05"
    )
    assert message["To"] == "ops@spiegel.localhost"
    text = body(message)
    assert "Insurer:  vgz" in text and "Month:    2024-05" in text
    assert "Rule:     month_volume_vs_median" in text
    assert "2024-05 has 11 % of the insurer's median monthly claim lines" in text and "under-delivered" in text
    assert "http://127.0.0.1:3000/assets/delivery?view=checks&checkDetail=delivery_completeness" in text
    [line] = sent_log(paths)
    assert line["key"] == f"gate_blocked:{PERIOD}:vgz:{DELIVERY}:month_volume_vs_median:2024-05"
    assert line["mail"].startswith("file ") and line["webhook"] == "not configured"


# --------------------------------------------------------------------------- the calendar


def test_a_blocked_period_three_days_before_its_date_is_one_at_risk_message_then_one_late(blocked, env, capsys):
    paths = blocked
    assert spiegel(paths.data_dir, "alerts", "check", "--today", "2024-10-12") == 0
    out = capsys.readouterr().out
    assert "sent: [Spiegel] 2024-v1 at risk: planned for 2024-10-15 (in 3 days), blocked" in out
    assert spiegel(paths.data_dir, "alerts", "check", "--today", "2024-10-12") == 0
    assert spiegel(paths.data_dir, "alerts", "check", "--today", "2024-10-13") == 0
    assert "nothing new to send (2 sent before)" in capsys.readouterr().out
    at_risk = [m for m in mails(paths) if "at risk" in m["Subject"]]
    assert len(at_risk) == 1 and len(mails(paths)) == 2  # and the gate block, once
    text = body(at_risk[0])
    assert "in 3 days, and it is blocked" in text
    assert "cz: delivery 20241005T0930 has landed but is not ingested yet" in text

    # the planned date passes without a release: one late message, once
    for _ in range(2):
        assert spiegel(paths.data_dir, "alerts", "check", "--today", "2024-10-16") == 0
    late = [m for m in mails(paths) if "is late" in m["Subject"]]
    assert [m["Subject"] for m in late] == ["[Spiegel] 2024-v1 is late: planned for 2024-10-15, not published"]
    assert "(1 day ago)" in body(late[0])
    assert [entry["key"].split(":")[0] for entry in sent_log(paths)] == ["gate_blocked", "at_risk", "late"]


def test_the_daily_schedule_runs_the_calendar_check_for_its_day(blocked, env):
    from orchestration.core.resources import SpiegelResource
    from orchestration.runs.alerts.automation import release_calendar_alerts_job, release_calendar_schedule

    paths = blocked
    at = datetime(2024, 10, 12, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    request = release_calendar_schedule(dg.build_schedule_context(scheduled_execution_time=at))
    assert request.run_key == "2024-10-12"
    for _ in range(2):  # the same day's run twice (a retry): one message
        result = release_calendar_alerts_job.execute_in_process(
            run_config=request.run_config,
            resources={"spiegel": SpiegelResource(data_dir=str(paths.data_dir))},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
    assert subjects(paths) == ["[Spiegel] 2024-v1 at risk: planned for 2024-10-15 (in 3 days), blocked"]


def test_an_empty_period_near_its_date_is_incomplete_and_only_expected_periods_are_late(tmp_path, env):
    paths = SpiegelPaths(tmp_path / "data")
    # nothing anywhere: the next period's date is near, no period is expected yet
    assert [s.alert.key for s in run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12)).sent] == [
        "at_risk:2024-v2:2025-01-15:incomplete"
    ]
    assert not paths.warehouse.exists()  # judged without creating a warehouse
    [message] = mails(paths)
    assert "incomplete: not every required insurer's delivery has landed" in body(message)
    assert "vgz: no delivery for 2024-v2 has landed" in body(message)
    # the calendar expects 2024-v1 on: it is late, and nothing earlier is
    env.setenv("SPIEGEL_CALENDAR_FIRST_PERIOD", "2024-v1")
    assert [s.alert.key for s in run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12)).sent] == [
        "late:2024-v1:2024-10-15"
    ]
    # SPIEGEL_ALERT_DAYS: a period 20 days ahead is at risk only within a wider window
    assert [s.alert.key for s in run_check(paths, CALENDAR_KINDS, today=date(2025, 3, 26)).sent] == [
        "late:2024-v2:2025-01-15"
    ]
    env.setenv("SPIEGEL_ALERT_DAYS", "30")
    assert [s.alert.key for s in run_check(paths, CALENDAR_KINDS, today=date(2025, 3, 26)).sent] == [
        "at_risk:2024-v3:2025-04-15:incomplete"
    ]
    assert len(mails(paths)) == 4


# --------------------------------------------------------------------------- sign-off and publish


def test_a_signoff_and_a_publish_are_one_message_each(clean_release, tmp_path, env):
    from orchestration.runs.alerts.automation import alerts_sensor

    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True)
    paths = SpiegelPaths(data)
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        for _ in range(3):
            evaluate_sensor(alerts_sensor, instance)
    assert run_check(paths, SENSOR_KINDS).sent == []
    assert sorted(subjects(paths)) == [
        "[Spiegel] 2024-v1 published as r1",
        "[Spiegel] 2024-v1 signed off by anna",
    ]
    by_subject = {m["Subject"]: body(m) for m in mails(paths)}
    published = by_subject["[Spiegel] 2024-v1 published as r1"]
    assert "Revision:      r1" in published and f"Folder:        {paths.releases / '2024-v1' / 'r1'}" in published
    assert "Signed off by: anna" in published
    signed = by_subject["[Spiegel] 2024-v1 signed off by anna"]
    assert "Comment:     clean" in signed and "spiegel publish --period 2024-v1" in signed
    keys = sorted(entry["key"] for entry in sent_log(paths))
    assert keys[0] == "published:2024-v1:r1" and keys[1].startswith("signed_off:2024-v1:2024-v1-")


# --------------------------------------------------------------------------- failed runs


@dg.op
def exploding_op():
    raise ValueError("the warehouse is on fire\nevacuate")


@dg.job
def exploding_job():
    exploding_op()


def test_a_failed_run_is_one_message_from_the_sensor_and_the_command_does_not_repeat_it(tmp_path, env, capsys):
    from orchestration.runs.alerts.automation import run_failure_alerts

    paths = SpiegelPaths(tmp_path / "data")
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        result = exploding_job.execute_in_process(
            instance=instance, raise_on_error=False, tags={"spiegel/trigger": "cli"}
        )
        assert not result.success
        for _ in range(2):
            context = dg.build_run_status_sensor_context(
                sensor_name=run_failure_alerts.name,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=result.get_run_failure_event(),
            ).for_run_failure()
            run_failure_alerts(context)
    assert spiegel(paths.data_dir, "alerts", "check", "--today", "2025-02-15") == 0
    assert "nothing new to send (1 sent before)" in capsys.readouterr().out
    [message] = mails(paths)
    assert message["Subject"] == "[Spiegel] run failed: exploding_job"
    text = body(message)
    assert f"Run id:     {result.run_id}" in text
    assert "Error:      ValueError: the warehouse is on fire | evacuate" in text
    assert "Started by: cli" in text
    assert f"http://127.0.0.1:3000/runs/{result.run_id}" in text


def test_the_command_finds_a_failed_run_the_sensor_missed(tmp_path, env, capsys):
    paths = SpiegelPaths(tmp_path / "data")
    env.setenv("SPIEGEL_DAGSTER_URL", "https://dagster.example.org/")
    with _restored_environment():
        use_data_dir(paths)
        result = exploding_job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    for _ in range(2):
        assert spiegel(paths.data_dir, "alerts", "check", "--today", "2025-02-15") == 0
    assert "sent: [Spiegel] run failed: exploding_job" in capsys.readouterr().out
    [message] = mails(paths)
    assert f"https://dagster.example.org/runs/{result.run_id}" in body(message)


# --------------------------------------------------------------------------- webhook and SMTP


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def test_the_webhook_gets_one_json_post_per_event(tmp_path, env, webhook):
    url, received = webhook
    env.setenv("SPIEGEL_ALERT_WEBHOOK_URL", url)
    env.setenv("SPIEGEL_CALENDAR_FIRST_PERIOD", "2024-v1")
    paths = SpiegelPaths(tmp_path / "data")
    for _ in range(3):
        run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12))
    assert sorted(p["key"] for p in received) == ["at_risk:2024-v2:2025-01-15:incomplete", "late:2024-v1:2024-10-15"]
    late = next(p for p in received if p["kind"] == "late")
    assert late["period"] == "2024-v1" and late["planned"] == "2024-10-15" and late["days_late"] == 89
    assert late["text"].startswith("[Spiegel] 2024-v1 is late")
    assert len(mails(paths)) == 2
    assert {entry["webhook"] for entry in sent_log(paths)} == {"sent (HTTP 204)"}


def test_a_dead_webhook_does_not_stop_the_mail(tmp_path, env):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.setenv("SPIEGEL_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook")
    paths = SpiegelPaths(tmp_path / "data")
    result = run_check(paths, ALL_KINDS, today=date(2025, 1, 12))
    assert [s.alert.key for s in result.sent] == ["at_risk:2024-v2:2025-01-15:incomplete"] and not result.failed
    assert subjects(paths) == ["[Spiegel] 2024-v2 at risk: planned for 2025-01-15 (in 3 days), incomplete"]
    [line] = sent_log(paths)
    assert line["webhook"].startswith("failed: URLError") and "refused" in line["webhook"].lower()
    assert run_check(paths, ALL_KINDS, today=date(2025, 1, 12)).sent == []  # recorded: not retried


class _FakeSMTP:
    sessions: list[dict] = []

    def __init__(self, host, port, timeout):
        self.session = {"host": host, "port": port, "timeout": timeout, "tls": False, "login": None, "messages": []}
        type(self).sessions.append(self.session)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        self.session["tls"] = True

    def login(self, user, password):
        self.session["login"] = (user, password)

    def send_message(self, message):
        self.session["messages"].append(message)


def test_with_a_mail_host_the_portals_smtp_settings_are_used(tmp_path, env):
    _FakeSMTP.sessions = []
    env.setattr(sending.smtplib, "SMTP", _FakeSMTP)
    env.setenv("SPIEGEL_PORTAL_EMAIL_HOST", "smtp.example.org")
    env.setenv("SPIEGEL_PORTAL_EMAIL_USER", "spiegel")
    env.setenv("SPIEGEL_PORTAL_EMAIL_PASSWORD", "secret")
    env.setenv("SPIEGEL_PORTAL_FROM_EMAIL", "Spiegel <noreply@example.org>")
    env.setenv("SPIEGEL_ALERT_TO", "ops@example.org, oncall@example.org")
    paths = SpiegelPaths(tmp_path / "data")
    for _ in range(2):
        run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12))
    [session] = _FakeSMTP.sessions
    assert (session["host"], session["port"], session["tls"], session["login"]) == (
        "smtp.example.org",
        587,
        True,
        ("spiegel", "secret"),
    )
    [message] = session["messages"]
    assert message["To"] == "ops@example.org, oncall@example.org" and message["From"] == "Spiegel <noreply@example.org>"
    assert "at risk" in message["Subject"]
    assert mails(paths) == []  # nothing written to files
    assert sent_log(paths)[0]["mail"] == "smtp smtp.example.org:587"


class _DownSMTP(_FakeSMTP):
    def __init__(self, host, port, timeout):
        raise ConnectionRefusedError(111, "Connection refused")


def test_a_mail_that_cannot_be_sent_is_tried_again_and_not_recorded(tmp_path, env):
    env.setattr(sending.smtplib, "SMTP", _DownSMTP)
    env.setenv("SPIEGEL_PORTAL_EMAIL_HOST", "smtp.example.org")
    paths = SpiegelPaths(tmp_path / "data")
    result = run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12))
    assert result.sent == [] and len(result.failed) == 1 and "Connection refused" in result.failed[0][1]
    assert sent_log(paths) == []
    env.delenv("SPIEGEL_PORTAL_EMAIL_HOST")  # the file backend: the next check sends it
    assert len(run_check(paths, CALENDAR_KINDS, today=date(2025, 1, 12)).sent) == 1


def test_a_run_failure_the_sensor_could_not_mail_goes_out_with_the_daily_run(tmp_path, env):
    from orchestration.core.resources import SpiegelResource
    from orchestration.runs.alerts.automation import CALENDAR_OP, release_calendar_alerts_job, run_failure_alerts

    paths = SpiegelPaths(tmp_path / "data")
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        failed = exploding_job.execute_in_process(instance=instance, raise_on_error=False)
        env.setattr(sending.smtplib, "SMTP", _DownSMTP)
        env.setenv("SPIEGEL_PORTAL_EMAIL_HOST", "smtp.example.org")
        context = dg.build_run_status_sensor_context(
            sensor_name=run_failure_alerts.name,
            dagster_instance=instance,
            dagster_run=failed.dagster_run,
            dagster_event=failed.get_run_failure_event(),
        ).for_run_failure()
        with pytest.raises(RuntimeError, match="was not sent: ConnectionRefusedError"):
            run_failure_alerts(context)
        assert sent_log(paths) == []
        env.delenv("SPIEGEL_PORTAL_EMAIL_HOST")  # the mail server is back (here: the file backend)
        daily = release_calendar_alerts_job.execute_in_process(
            run_config={"ops": {CALENDAR_OP: {"config": {"today": "2025-02-15"}}}},
            resources={"spiegel": SpiegelResource(data_dir=str(paths.data_dir))},
            instance=instance,
        )
        assert daily.success
    assert subjects(paths) == ["[Spiegel] run failed: exploding_job"]
    assert [entry["key"] for entry in sent_log(paths)] == [f"run_failed:{failed.run_id}"]


# --------------------------------------------------------------------------- the clock


def test_an_unsynchronised_clock_is_one_alert_a_day_in_service_mode(tmp_path, env):
    from orchestration.core import clock

    paths = SpiegelPaths(tmp_path / "data")
    state = {"now": clock.TIME_ERROR}
    env.setattr(clock, "kernel_clock_state", lambda: state["now"])

    from orchestration.runs.alerts import messages

    assert messages.CLOCK_UNSYNCHRONISED in CALENDAR_KINDS  # the daily schedule checks it

    def sent(day: date) -> list[str]:
        return [s.alert.key for s in run_check(paths, (messages.CLOCK_UNSYNCHRONISED,), today=day).sent]

    assert sent(date(2025, 1, 12)) == []  # outside service mode the check is off (a laptop, CI)
    env.setenv("SPIEGEL_SERVICE_MODE", "1")
    assert sent(date(2025, 1, 12)) == ["clock_unsynchronised:2025-01-12"]
    assert sent(date(2025, 1, 12)) == []  # once a day
    assert sent(date(2025, 1, 13)) == ["clock_unsynchronised:2025-01-13"]
    (first, _) = mails(paths)
    assert first["Subject"] == "[Spiegel] the clock of this machine is not synchronised"
    assert "timedatectl" in body(first) and "2025-01-12" in body(first)
    env.setenv("SPIEGEL_CLOCK_CHECK", "0")  # switched off explicitly
    assert sent(date(2025, 1, 14)) == []
    env.delenv("SPIEGEL_SERVICE_MODE")
    env.setenv("SPIEGEL_CLOCK_CHECK", "1")  # or on, outside service mode
    assert sent(date(2025, 1, 15)) == ["clock_unsynchronised:2025-01-15"]
    for synchronised in (clock.TIME_OK, 1, 4):  # leap-second states are synchronised too
        state["now"] = synchronised
        assert sent(date(2025, 1, 16)) == []
