"""The alerts' words: one :class:`Alert` per event, with its key, subject and body.

Each function here is pure: it gets the facts and returns the message. The key names the
event, never the moment it was seen, so the sent log (``sending.py``) recognises the
same event on every later tick and it is sent once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from orchestration.runs.alerts.settings import AlertSettings

PREFIX = "[Spiegel]"
GATE_BLOCKED = "gate_blocked"
RUN_FAILED = "run_failed"
AT_RISK = "at_risk"
LATE = "late"
SIGNED_OFF = "signed_off"
PUBLISHED = "published"
CLOCK_UNSYNCHRONISED = "clock_unsynchronised"
KINDS = (GATE_BLOCKED, RUN_FAILED, AT_RISK, LATE, SIGNED_OFF, PUBLISHED, CLOCK_UNSYNCHRONISED)

# why a period whose planned date is near is at risk (the key's last part)
INCOMPLETE = "incomplete"  # a required insurer's delivery has not landed
BLOCKED = "blocked"  # everything landed, but a blocking reason stands
NOT_SIGNED_OFF = "not_signed_off"  # the gates pass, no valid sign-off yet
SIGNED_OFF_UNPUBLISHED = "signed_off"  # only the publish is left (said in a late message only)
STATE_WORDS = {
    INCOMPLETE: "incomplete: not every required insurer's delivery has landed",
    BLOCKED: "blocked: a blocking reason stands",
    NOT_SIGNED_OFF: "not signed off: the gates pass, the data-quality sign-off is missing",
    SIGNED_OFF_UNPUBLISHED: "signed off, not published",
}
MAX_REASONS = 20


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    subject: str
    body: str
    link: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # period, insurer, month, ...: the webhook's fields

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON: the facts, and ``text`` for chat webhooks that show only that."""
        return {
            **self.facts,
            "key": self.key,
            "kind": self.kind,
            "subject": self.subject,
            "link": self.link,
            "text": f"{self.subject}\n\n{self.body}",
        }


def _lines(pairs: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in pairs) + 1
    return "\n".join(f"{(k + ':').ljust(width)} {v}" for k, v in pairs)


def _reasons(reasons: list[str]) -> str:
    shown = [f"- {r}" for r in reasons[:MAX_REASONS]]
    if len(reasons) > MAX_REASONS:
        shown.append(f"- ... and {len(reasons) - MAX_REASONS} more (spiegel status)")
    return "\n".join(shown) or "- none"


def _days(n: int) -> str:
    return "today" if n == 0 else ("1 day" if n == 1 else f"{n} days")


def gate_blocked(
    settings: AlertSettings,
    period: str,
    insurer: str,
    delivery_id: str,
    check: str,
    rules: list[str],
    months: list[str],
    findings: list[str],
) -> Alert:
    """A delivery's gate (one check of one delivery in force) blocks the period."""
    month_text = ", ".join(months) if months else "-"
    link = settings.check_url(check)
    partition = f"{insurer}|{period}"
    subject = f"{PREFIX} {period}: {insurer} delivery {delivery_id} blocked by {check}" + (
        f", month {month_text}" if months else ""
    )
    body = "\n".join(
        [
            f"The {check} check blocks the delivery of {insurer} for {period}.",
            "",
            _lines(
                [
                    ("Insurer", insurer),
                    ("Period", period),
                    ("Delivery", delivery_id),
                    ("Check", f"{check} (partition {partition})"),
                    ("Rule", ", ".join(rules)),
                    ("Month", month_text if months else "- (not about one month)"),
                ]
            ),
            "",
            "Findings:",
            _reasons(findings),
            "",
            f"{period} cannot be signed off or published until {insurer} redelivers (or the gates' "
            "configuration changes and the delivery is gated again).",
            f"The check in the Dagster UI: {link} (partition {partition})",
            f"On the command line: spiegel status --period {period}",
        ]
    )
    facts = {
        "period": period,
        "insurer": insurer,
        "delivery_id": delivery_id,
        "check": check,
        "rules": rules,
        "months": months,
        "findings": findings,
    }
    key = f"{GATE_BLOCKED}:{period}:{insurer}:{delivery_id}:{'+'.join(rules)}:{'+'.join(months) or '-'}"
    return Alert(key, GATE_BLOCKED, subject, body, link, facts)


def run_failed(
    settings: AlertSettings, job: str, partition: str | None, run_id: str, error: str, trigger: str = ""
) -> Alert:
    """A Dagster run failed (a crash or a refusal, not a gate's verdict: see events.py)."""
    link = settings.run_url(run_id)
    where = f" {partition}" if partition else ""
    subject = f"{PREFIX} run failed: {job}{where}"
    body = "\n".join(
        [
            f"The run of {job}{' for ' + partition if partition else ''} failed.",
            "",
            _lines(
                [
                    ("Job", job),
                    ("Partition", partition or "-"),
                    ("Run id", run_id),
                    ("Started by", trigger or "-"),
                    ("Error", error or "(no message: see the run's logs)"),
                ]
            ),
            "",
            f"The run in the Dagster UI: {link}",
            "Run it again once the cause is fixed (the Runs page's Re-execute, or the spiegel command).",
        ]
    )
    facts = {"job": job, "partition": partition, "run_id": run_id, "error": error, "trigger": trigger}
    return Alert(f"{RUN_FAILED}:{run_id}", RUN_FAILED, subject, body, link, facts)


def at_risk(settings: AlertSettings, period: str, planned: date, today: date, state: str, reasons: list[str]) -> Alert:
    """The planned date is near and the period is incomplete, blocked or not signed off."""
    left = (planned - today).days
    link = settings.asset_url("release_readiness")
    subject = (
        f"{PREFIX} {period} at risk: planned for {planned.isoformat()} (in {_days(left)}), {state.replace('_', ' ')}"
    )
    next_step = {
        INCOMPLETE: "Ask the insurers named above to deliver, then run the period.",
        BLOCKED: "Resolve the blocking reasons above (a redelivery, a run of the period), then sign off.",
        NOT_SIGNED_OFF: f"Check the period and sign it off: spiegel signoff --period {period} --by NAME --comment TEXT",
    }[state]
    body = "\n".join(
        [
            f"{period} is planned for publication on {planned.isoformat()}, in {_days(left)}, and it is "
            f"{STATE_WORDS[state]}.",
            "",
            _lines([("Period", period), ("Planned", planned.isoformat()), ("Checked on", today.isoformat())]),
            "",
            "What stands in the way:",
            _reasons(reasons),
            "",
            next_step,
            f"Readiness in the Dagster UI: {link}; on the command line: spiegel status --period {period}",
        ]
    )
    facts = {"period": period, "planned": planned.isoformat(), "days_left": left, "state": state, "reasons": reasons}
    return Alert(f"{AT_RISK}:{period}:{planned.isoformat()}:{state}", AT_RISK, subject, body, link, facts)


def late(settings: AlertSettings, period: str, planned: date, today: date, state: str, reasons: list[str]) -> Alert:
    """The planned date has passed and no revision of the period is published."""
    over = (today - planned).days
    link = settings.asset_url("release_readiness")
    subject = f"{PREFIX} {period} is late: planned for {planned.isoformat()}, not published"
    body = "\n".join(
        [
            f"{period} was planned for publication on {planned.isoformat()} ({_days(over)} ago) and no revision "
            f"is published. It is {STATE_WORDS[state]}.",
            "",
            _lines([("Period", period), ("Planned", planned.isoformat()), ("Checked on", today.isoformat())]),
            "",
            "What stands in the way:",
            _reasons(reasons),
            "",
            "The portal's release calendar shows the period as postponed (uitgesteld); an operator may give it "
            "a new date and a text there.",
            f"Readiness in the Dagster UI: {link}; on the command line: spiegel status --period {period}",
        ]
    )
    facts = {"period": period, "planned": planned.isoformat(), "days_late": over, "state": state, "reasons": reasons}
    return Alert(f"{LATE}:{period}:{planned.isoformat()}", LATE, subject, body, link, facts)


def signed_off(settings: AlertSettings, signoff: Any) -> Alert:
    """A data-quality sign-off was recorded (``release/signoff.py``'s Signoff)."""
    period = signoff.period
    link = settings.asset_url("signoff")
    insurers = ", ".join(f"{d['insurer']} {d['delivery_id']}" for d in signoff.deliveries) or "-"
    subject = f"{PREFIX} {period} signed off by {signoff.by}"
    body = "\n".join(
        [
            f"{signoff.by} signed off {period} at {signoff.at}.",
            "",
            _lines(
                [
                    ("Period", period),
                    ("By", signoff.by),
                    ("At", signoff.at),
                    ("Comment", signoff.comment or "-"),
                    ("Sign-off id", signoff.signoff_id),
                    ("Deliveries", insurers),
                ]
            ),
            "",
            f"Next: spiegel publish --period {period} (or job publish_release in the Dagster UI: {link}).",
        ]
    )
    facts = {"period": period, "by": signoff.by, "at": signoff.at, "signoff_id": signoff.signoff_id}
    return Alert(f"{SIGNED_OFF}:{period}:{signoff.signoff_id}", SIGNED_OFF, subject, body, link, facts)


def published(settings: AlertSettings, period: str, revision: str, folder: str, release: dict[str, Any]) -> Alert:
    """A revision of a period was published under ``releases/`` (its ``release.json``)."""
    link = settings.asset_url("release")
    signoff = release.get("signoff") or {}
    at = release.get("published_at") or "-"
    files = release.get("files") or {}
    rows = (files.get("behandelindex.csv") or {}).get("rows")
    subject = f"{PREFIX} {period} published as {revision}"
    body = "\n".join(
        [
            f"{period} was published as revision {revision} at {at}.",
            "",
            _lines(
                [
                    ("Period", period),
                    ("Revision", revision),
                    ("Published at", at),
                    ("Signed off by", f"{signoff.get('by', '-')} ({signoff.get('signoff_id', '-')})"),
                    ("Index rows", rows if rows is not None else "-"),
                    ("Folder", folder),
                ]
            ),
            "",
            f"The release in the Dagster UI: {link}. The portal shows it once it reads releases/ again.",
        ]
    )
    facts = {"period": period, "revision": revision, "published_at": at, "folder": folder}
    return Alert(f"{PUBLISHED}:{period}:{revision}", PUBLISHED, subject, body, link, facts)


def clock_unsynchronised(settings: AlertSettings, today: date) -> Alert:
    """The kernel says this machine's clock is not synchronised (``core/clock.py``): told once a day."""
    subject = f"{PREFIX} the clock of this machine is not synchronised"
    body = "\n".join(
        [
            "The kernel reports that no time source keeps this machine's clock right (adjtimex: TIME_ERROR).",
            "Times in the audit log, the sign-offs, the releases and the sessions then drift.",
            "",
            _lines([("Day", today.isoformat()), ("Check", "adjtimex(2), clock state 5")]),
            "",
            "Next: start the host's time service (timedatectl set-ntp true, or chrony), then check with",
            "timedatectl status that 'System clock synchronized: yes'. This alert repeats daily until then.",
        ]
    )
    facts = {"day": today.isoformat()}
    return Alert(f"{CLOCK_UNSYNCHRONISED}:{today.isoformat()}", CLOCK_UNSYNCHRONISED, subject, body, "", facts)


# raised by the portal itself when a request limit is reached (portal/access/alarms.py), not
# found by a check: so not among KINDS
PORTAL_REQUESTS = "portal_requests"
PORTAL_LIMITS = {
    "lockout": "logins locked after repeated failed attempts",
    "second_factor": "second factor locked after repeated wrong codes",
    "api_rate": "read API rate limit reached",
    "contact_rate": "contact form limit reached",
}


def portal_requests(settings: AlertSettings, limit: str, who: str, ip: str, hour: str, detail: str = "") -> Alert:
    """A portal limit refused requests of one caller: told once per limit, caller and hour."""
    what = PORTAL_LIMITS[limit]
    digest = hashlib.sha256(f"{limit}|{who}".encode()).hexdigest()[:16]
    subject = f"{PREFIX} portal: {what} ({who})"
    body = "\n".join(
        [
            f"The portal refused requests: {what}. Further refusals of this caller within the hour",
            "are not mailed again; each one is in the portal's audit log.",
            "",
            _lines(
                [
                    ("Limit", limit),
                    ("Caller", who),
                    ("Address", ip or "-"),
                    ("Hour (UTC)", hour),
                    ("Detail", detail or "-"),
                ]
            ),
            "",
            "Next: `spiegel portal audit` lists the requests (logins, refusals, API calls) with their",
            "addresses. Many callers at once, or an account whose owner did not try, can be an attack:",
            "see docs/alerts.md (portal limits).",
        ]
    )
    facts = {"limit": limit, "caller": who, "ip": ip, "hour": hour}
    return Alert(f"{PORTAL_REQUESTS}:{limit}:{digest}:{hour}", PORTAL_REQUESTS, subject, body, "", facts)
