"""Who signs a period off and who publishes it: an operator the platform can check.

An *operator* is an active portal account with ``is_staff`` and a TOTP authenticator
(allauth's MFA; ``portal.access.permissions.operator_shortfall``). Outside service mode a
typed name (``--by``) still does, and the record says ``authenticated: false``; in service
mode (``orchestration.core.service``) only a proven operator may sign off or publish, and
with four eyes the publisher must be another operator than the one who signed off.

The proof reaches the Dagster step that acts as a **ticket**: a short-lived statement
"operator <account id, e-mail> may <sign off | publish> <period> (with this comment)",
signed with HMAC-SHA256 under a key of the data directory (``operators/ticket.key``, 0600,
made on first use), valid for at most ten minutes and only once (its nonce is written to
``operators/used_tickets.jsonl`` when a step redeems it). Two places issue tickets, each
after checking the operator itself:

- the portal's release page (``portal/operators``), for a session that logged in with its
  second factor; it launches the Dagster job through the webserver's GraphQL with the
  ticket in the run config;
- ``spiegel signoff|publish --token T``, for the personal API token of an operator
  (looked up in the portal's database, so this process sets Django up).

The sign-off and release assets redeem the ticket (:func:`operator_for_step`) before they
act and write the outcome to the portal's audit log (:func:`audit`). A ticket typed into
the launchpad by hand is just as good as any other (it is the same proof), and a name
typed there is refused in service mode. Whoever can read the key can make tickets: it is
as secret as the sign-off log it guards, and lives beside it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.core.locks import file_lock
from orchestration.core.service import four_eyes, portal_url, service_mode
from orchestration.core.settings import SpiegelPaths

log = logging.getLogger(__name__)

SIGNOFF, PUBLISH = "signoff", "publish"
ACTIONS = (SIGNOFF, PUBLISH)
VERBS = {SIGNOFF: "sign-off", PUBLISH: "publish"}
TICKET_SECONDS = 300  # what the portal and the CLI issue
MAX_TICKET_SECONDS = 600  # what a step accepts at most (issued-at to expiry)
CLOCK_SKEW_SECONDS = 30
TICKET_PREFIX = "spt1"
TOKEN_ENV = "SPIEGEL_OPERATOR_TOKEN"


class OperatorRefused(RuntimeError):
    """No proven operator for this act (the message is one line, for the CLI and the UI)."""


# -- who --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """The person behind a sign-off or a publish: a portal account (``authenticated``) or,
    outside service mode, a typed name (``account_id`` None)."""

    account: str
    account_id: int | None = None
    authenticated: bool = False

    @classmethod
    def typed(cls, name: str) -> Operator:
        return cls(account=(name or "").strip(), account_id=None, authenticated=False)

    def record(self) -> dict[str, Any]:
        return {"account": self.account, "account_id": self.account_id, "authenticated": self.authenticated}

    @property
    def named(self) -> bool:
        return bool(self.account) or self.account_id is not None

    def same_person(self, other: Operator) -> bool:
        """Accounts compare by id (an e-mail address can change); typed names by their text."""
        if self.account_id is not None and other.account_id is not None:
            return self.account_id == other.account_id
        return bool(self.account) and self.account.casefold() == other.account.casefold()


def publish_refusal(period: str, signer: Operator, publisher: Operator) -> str | None:
    """Why ``publisher`` may not publish ``period`` signed off by ``signer``
    (``Signoff.operator``), or None.

    The one four-eyes rule, asked by ``publish_release`` under its lock (and by the portal's
    page before it launches anything, to say it at once)."""
    if service_mode() and not publisher.authenticated:
        return (
            f"publish of {period} refused: service mode: only an authenticated operator may publish "
            f"(the portal's release page {release_page_url(period)}, or `spiegel publish --token`)"
        )
    if service_mode() and not signer.authenticated:
        # e.g. a sign-off typed before the platform ran as a service: nobody proved it
        return (
            f"publish of {period} refused: service mode: its sign-off (by {signer.account or 'nobody'}) was not "
            "made by an authenticated operator; an operator must sign it off first"
        )
    if four_eyes():
        if not publisher.named:
            return (
                f"publish of {period} refused: four eyes: say who publishes (--by NAME or --token); "
                f"it must be another operator than {signer.account}, who signed this period off"
            )
        if signer.same_person(publisher):
            return (
                f"publish of {period} refused: four eyes: {signer.account} signed this period off and "
                "may not also publish it; another operator must publish"
            )
    return None


# -- where ------------------------------------------------------------------------------------


def release_page_url(period: str | None = None) -> str:
    """The portal's release page (of ``period``), one click from the Dagster UI."""
    return f"{portal_url()}/beheer/vrijgave/" + (f"{period}/" if period else "")


# -- tickets ----------------------------------------------------------------------------------


def operators_dir(paths: SpiegelPaths) -> Path:
    return paths.data_dir / "operators"


def ticket_key_path(paths: SpiegelPaths) -> Path:
    return operators_dir(paths) / "ticket.key"


def used_tickets_path(paths: SpiegelPaths) -> Path:
    return operators_dir(paths) / "used_tickets.jsonl"


def _key(paths: SpiegelPaths) -> bytes:
    """The signing key, made on first use: written aside and linked into place, so that two
    processes making it at once agree on one key and nobody reads half of one."""
    path = ticket_key_path(paths)
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 64:
            return bytes.fromhex(text)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.parent / f".ticket.key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: its key it is
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Ticket:
    action: str
    period: str
    account_id: int
    account: str
    comment: str
    issued_at: int
    expires_at: int
    nonce: str

    @property
    def operator(self) -> Operator:
        return Operator(self.account, self.account_id, True)


def issue_ticket(
    paths: SpiegelPaths,
    operator: Operator,
    *,
    action: str,
    period: str,
    comment: str = "",
    seconds: int = TICKET_SECONDS,
    now: float | None = None,
) -> str:
    """A signed ticket for ``operator`` (checked by the caller) to do ``action`` on ``period``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not operator.authenticated or operator.account_id is None:
        raise ValueError("a ticket is for an authenticated operator only")
    issued = int(now if now is not None else time.time())
    payload = {
        "v": 1,
        "action": action,
        "period": period,
        "account_id": int(operator.account_id),
        "account": operator.account,
        "comment": comment,
        "iat": issued,
        "exp": issued + int(seconds),
        "nonce": secrets.token_urlsafe(18),
    }
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    mac = hmac.new(_key(paths), f"{TICKET_PREFIX}.{body}".encode("ascii"), hashlib.sha256).digest()
    return f"{TICKET_PREFIX}.{body}.{_b64(mac)}"


def read_ticket(paths: SpiegelPaths, ticket: str, *, action: str, period: str, now: float | None = None) -> Ticket:
    """The ticket's claims if it is genuine, for this act and period, and not expired (not yet
    marked used: :func:`redeem_ticket` does that)."""
    verb = VERBS.get(action, action)
    refused = f"{verb} of {period} refused: the operator ticket"
    parts = (ticket or "").strip().split(".")
    if len(parts) != 3 or parts[0] != TICKET_PREFIX:
        raise OperatorRefused(f"{refused} is not a Spiegel operator ticket")
    try:
        mac = _unb64(parts[2])
        expected = hmac.new(_key(paths), f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    except (ValueError, UnicodeEncodeError):
        raise OperatorRefused(f"{refused} is damaged") from None
    if not hmac.compare_digest(mac, expected):
        raise OperatorRefused(f"{refused} has no valid signature")
    try:
        claims = json.loads(_unb64(parts[1]))
        found = Ticket(
            action=str(claims["action"]),
            period=str(claims["period"]),
            account_id=int(claims["account_id"]),
            account=str(claims["account"]),
            comment=str(claims.get("comment", "")),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            nonce=str(claims["nonce"]),
        )
    except (ValueError, KeyError, TypeError):
        raise OperatorRefused(f"{refused} is damaged") from None
    if found.action != action or found.period != period:
        raise OperatorRefused(f"{refused} is for {VERBS.get(found.action, found.action)} of {found.period}")
    now = time.time() if now is None else now
    if found.expires_at - found.issued_at > MAX_TICKET_SECONDS:
        raise OperatorRefused(f"{refused} claims a validity of more than {MAX_TICKET_SECONDS // 60} minutes")
    if found.issued_at > now + CLOCK_SKEW_SECONDS:
        raise OperatorRefused(f"{refused} was issued in the future")
    if now > found.expires_at:
        raise OperatorRefused(f"{refused} has expired; ask again from the release page or the CLI")
    return found


def redeem_ticket(paths: SpiegelPaths, ticket: str, *, action: str, period: str, now: float | None = None) -> Ticket:
    """:func:`read_ticket`, then mark it used (once only), under a lock."""
    found = read_ticket(paths, ticket, action=action, period=period, now=now)
    used = used_tickets_path(paths)
    used.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(used.parent / ".used_tickets.lock", f"the used operator tickets {used}"):
        if used.exists():
            for line in used.read_text(encoding="utf-8").splitlines():
                if line.strip() and json.loads(line).get("nonce") == found.nonce:
                    raise OperatorRefused(f"{VERBS[action]} of {period} refused: the operator ticket was used already")
        entry = {
            "nonce": found.nonce,
            "action": found.action,
            "period": found.period,
            "account": found.account,
            "account_id": found.account_id,
            "expires_at": found.expires_at,
            "used_at": int(time.time() if now is None else now),
        }
        with open(used, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(used, 0o600)
    return found


# -- the step's operator ----------------------------------------------------------------------


def operator_for_step(
    paths: SpiegelPaths, *, action: str, period: str, by: str = "", ticket: str = "", comment: str = ""
) -> tuple[Operator, str]:
    """The operator of a sign-off or release step and the comment to record.

    A ticket is redeemed (whatever the mode) and gives an authenticated operator and the
    comment it was issued with; without one, service mode refuses and otherwise the typed
    ``by`` is taken as it is (``authenticated: false``)."""
    verb = VERBS[action]
    if ticket.strip():
        found = redeem_ticket(paths, ticket, action=action, period=period)
        if action == SIGNOFF and comment.strip() and comment.strip() != found.comment.strip():
            raise OperatorRefused(f"{verb} of {period} refused: the comment is not the one the operator's ticket names")
        return found.operator, found.comment
    if service_mode():
        command = "signoff" if action == SIGNOFF else "publish"
        raise OperatorRefused(
            f"{verb} of {period} refused: service mode: only an authenticated operator may {verb.replace('-', ' ')} "
            f"(the portal's release page {release_page_url(period)}, or `spiegel {command} --token`); "
            "a typed name is not accepted"
        )
    return Operator.typed(by), comment


# -- the portal's side: accounts and the audit log (Django, set up in this process) -----------

_SHORTFALLS = {
    "inactive": "the account is blocked",
    "not_staff": "the account is not one of the portal's staff",
    "no_totp": "the account has no second factor (TOTP); set it up at /accounts/2fa/",
}


def _portal(paths: SpiegelPaths) -> None:
    """Set the portal's Django up in this process, on this data directory (no migrations:
    an operator's token or ticket means the portal's database is there already)."""
    from portal.operations import PortalCommandError, _setup

    try:
        _setup(paths.data_dir, migrate=False)
    except PortalCommandError as exc:
        raise OperatorRefused(str(exc)) from None


def operator_from_token(paths: SpiegelPaths, token: str, *, action: str, period: str) -> Operator:
    """The operator whose personal API token this is (CLI in service mode), audited either way."""
    _portal(paths)
    from django.db import DatabaseError

    from portal.access import tokens
    from portal.access.permissions import operator_shortfall

    verb = VERBS[action]
    try:
        found = tokens.find_token((token or "").strip())
    except DatabaseError as exc:
        raise OperatorRefused(
            f"{verb} of {period} refused: the portal's database of {paths.data_dir} cannot be read "
            f"(has `spiegel portal serve` set it up?): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    if found is None:
        _record("OPERATOR_REFUSED", "anoniem", period=period, detail=f"{verb}: unknown, expired or revoked token")
        raise OperatorRefused(f"{verb} of {period} refused: the token is unknown, expired or revoked")
    user = found.user
    email = user.email or user.get_username()
    shortfall = operator_shortfall(user)
    if shortfall is not None:
        reason = _SHORTFALLS.get(shortfall, shortfall)
        _record("OPERATOR_REFUSED", email, period=period, detail=f"{verb} by token {found.prefix}: {reason}")
        raise OperatorRefused(f"{verb} of {period} refused: {email} is not an operator: {reason}")
    tokens.mark_used(found)
    return Operator(email, int(user.pk), True)


def _record(action_name: str, actor: str, *, period: str, detail: str = "") -> None:
    from portal.access import audit as portal_audit
    from portal.access.models import AuditEvent

    portal_audit.record(getattr(AuditEvent, action_name), actor=actor, subject=f"periode {period}", detail=detail)


def audit(paths: SpiegelPaths, action_name: str, operator: Operator | str, *, period: str, detail: str = "") -> bool:
    """One line in the portal's audit log about an operator's act, or (``operator`` a string)
    about a refused caller. A typed name outside service mode leaves none, as before.
    ``action_name`` is an ``AuditEvent`` constant's name. A failure to write is logged, not
    raised (it comes after the act, or with its refusal); False then."""
    if isinstance(operator, Operator):
        if not operator.authenticated:
            return False
        actor = operator.account
    else:
        actor = operator
    try:
        _portal(paths)
        _record(action_name, actor, period=period, detail=detail)
        return True
    except Exception:  # the record of the act is the sign-off log / release.json; this is its echo
        log.exception("could not write %s for %s to the portal's audit log", action_name, actor)
        return False
