"""Sending an alert once: the e-mail (SMTP or a file), the webhook, and the sent log.

The sent log ``<data dir>/alerts/sent.jsonl`` is append-only, one JSON line per event
sent: its key, kind, subject, when, and what became of the mail and the webhook. An event
whose key is in the log is never sent again. Each event is checked, sent and recorded
while holding ``<data dir>/alerts/.sent.lock`` (``core/alert_files.py``, ``core/locks.py``), so two sensor ticks,
the daily schedule and a cron's ``spiegel alerts check`` never send one event twice.

- The e-mail is the event's record: when it cannot be sent (SMTP down), nothing is
  recorded and the next check tries again; the webhook waits for it.
- The webhook (``SPIEGEL_ALERT_WEBHOOK_URL``) is a courtesy: a POST of the alert's JSON
  with a timeout; a failure is logged and written in the event's line, never retried
  and never stops the mail or the check.
- A process killed between sending and recording sends that one event again on the
  next check (at least once, never lost).
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import logging
import os
import re
import smtplib
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from orchestration.core.alert_files import alerts_dir, mail_dir, sent_lock_path, sent_log_path
from orchestration.core.locks import LockTimeout, file_lock
from orchestration.core.settings import SpiegelPaths
from orchestration.runs.alerts.messages import Alert
from orchestration.runs.alerts.settings import SMTP_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS, AlertSettings

log = logging.getLogger(__name__)
LOCK_TIMEOUT_SECONDS = 60.0  # a check waits this long for another one that is sending


@dataclass(frozen=True)
class Sent:
    """What became of one alert that was sent now."""

    alert: Alert
    mail: str  # "file <path>" or "smtp <host>:<port>"
    webhook: str  # "not configured", "sent (HTTP 200)" or "failed: ..."


def sent_keys(paths: SpiegelPaths) -> set[str]:
    """The keys of every event sent from this data directory (a torn last line is skipped)."""
    path = sent_log_path(paths)
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            keys.add(json.loads(line)["key"])
        except (ValueError, KeyError, TypeError):
            continue
    return keys


# RFC 5322's line limit, not the default 78: Python's folding would put a subject that starts
# with "[Spiegel]" on a line of its own, and readers would see it with a leading space
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def email_message(alert: Alert, settings: AlertSettings) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = alert.subject
    message["From"] = settings.from_email
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="spiegel.localhost")
    message["X-Spiegel-Alert"] = alert.key
    message.set_content(alert.body + "\n")
    return message


def _write_file(paths: SpiegelPaths, alert: Alert, message: EmailMessage) -> Path:
    """One ``.eml`` per message, written aside and renamed into place (a reader sees it whole)."""
    folder = mail_dir(paths)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(alert.key.encode()).hexdigest()[:10]
    target = folder / f"{stamp}-{re.sub(r'[^a-z_]', '', alert.kind)}-{digest}.eml"
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _send_smtp(settings: AlertSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_tls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def send_mail(paths: SpiegelPaths, alert: Alert, settings: AlertSettings) -> str:
    """Send ``alert`` by SMTP when a host is configured, else write it to a file; what was done."""
    message = email_message(alert, settings)
    if settings.smtp_host:
        _send_smtp(settings, message)
        return f"smtp {settings.smtp_host}:{settings.smtp_port}"
    return f"file {_write_file(paths, alert, message)}"


def post_webhook(alert: Alert, settings: AlertSettings) -> str:
    """POST the alert's JSON to the webhook; what happened, in words (never raises)."""
    if not settings.webhook_url:
        return "not configured"
    request = urllib.request.Request(
        settings.webhook_url,
        data=json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "spiegel-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return f"sent (HTTP {response.status})"
    except Exception as exc:  # whatever the webhook does, the mail and the check go on
        reason = getattr(exc, "reason", None) or exc
        log.warning("alert %s: the webhook failed: %s", alert.key, reason)
        return f"failed: {type(exc).__name__}: {str(reason)[:200]}"


def _record(paths: SpiegelPaths, sent: Sent) -> None:
    line = {
        "key": sent.alert.key,
        "kind": sent.alert.kind,
        "subject": sent.alert.subject,
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "mail": sent.mail,
        "webhook": sent.webhook,
    }
    with open(sent_log_path(paths), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class Dispatch:
    """The outcome of sending a batch: what went out, and what failed (tried again next time)."""

    sent: list[Sent]
    failed: list[tuple[Alert, str]]
    already: int  # alerts whose event had been sent before


def dispatch(
    paths: SpiegelPaths, alerts: list[Alert], settings: AlertSettings | None = None, timeout: float | None = None
) -> Dispatch:
    """Send every alert whose key is not in the sent log, each once, in order."""
    settings = settings or AlertSettings.from_env()
    known = sent_keys(paths)
    result = Dispatch([], [], 0)
    seen: set[str] = set()
    for position, alert in enumerate(alerts):
        if alert.key in known or alert.key in seen:
            result.already += 1
            continue
        seen.add(alert.key)
        try:
            sent = _send_once(paths, alert, settings, LOCK_TIMEOUT_SECONDS if timeout is None else timeout)
        except LockTimeout as exc:  # another check is sending: this one and the rest wait for the next
            rest = {a.key: a for a in alerts[position:] if a.key not in known and (a is alert or a.key not in seen)}
            result.failed += [(a, str(exc)) for a in rest.values()]
            break
        except (OSError, smtplib.SMTPException) as exc:
            log.error("alert %s: the e-mail could not be sent: %s", alert.key, exc)
            result.failed.append((alert, f"{type(exc).__name__}: {exc}"))
            continue
        if sent is None:
            result.already += 1
        else:
            result.sent.append(sent)
    return result


def _send_once(paths: SpiegelPaths, alert: Alert, settings: AlertSettings, timeout: float) -> Sent | None:
    """Under the sent log's lock: send ``alert`` and record it, unless it is in the log (None)."""
    alerts_dir(paths).mkdir(parents=True, exist_ok=True)
    with file_lock(sent_lock_path(paths), f"the alerts' sent log {sent_log_path(paths)}", timeout):
        if alert.key in sent_keys(paths):  # another check sent it meanwhile
            return None
        mail = send_mail(paths, alert, settings)
        sent = Sent(alert, mail, post_webhook(alert, settings))
        _record(paths, sent)
    return sent
