"""The operators' side of the portal, behind ``spiegel portal ...`` and ``spiegel demo``.

Every function points this process at the data directory (``SPIEGEL_DATA_DIR``) and sets
Django up itself, because it is called from the CLI process. Django reads its settings
once: a process that already set the portal up for another data directory is refused
rather than silently writing into the wrong one.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PORTAL_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PORTAL_ROOT.parent
OPERATOR = "operator (spiegel portal)"
# `spiegel portal serve`'s set-up, in order; each is a crash point where it starts
# ("stage:portal:<stage>", orchestration/core/crashpoints.py)
SETUP_STAGES = ("migrate", "collectstatic", "serve")


class PortalCommandError(Exception):
    """A portal command that cannot be done; the message is one line."""


def _setup(data_dir: Path, *, migrate: bool = True) -> None:
    data_dir = Path(data_dir).resolve()
    os.environ["SPIEGEL_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.conf import settings

    django.setup()
    if Path(settings.DATA_DIR) != data_dir:
        raise PortalCommandError(f"this process already runs the portal of {settings.DATA_DIR}, not {data_dir}")
    if migrate:
        from django.core.management import call_command

        _stage("migrate")
        call_command("migrate", interactive=False, verbosity=0)


def _stage(stage: str) -> None:
    from orchestration.core.crashpoints import at_stage

    at_stage("portal", stage, SETUP_STAGES)


def collect_static(data_dir: Path) -> None:
    """Apply the migrations and collect the static files into ``STATIC_ROOT`` (the manifest
    storage's hashed, compressed names, under the data directory): the set-up of ``serve``."""
    _setup(data_dir)
    from django.core.management import call_command

    _stage("collectstatic")
    call_command("collectstatic", interactive=False, verbosity=0)


def _user(email: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(email__iexact=(email or "").strip()).first()
    if user is None:
        raise PortalCommandError(
            f"no portal account with e-mail address {email!r} "
            "(create it with spiegel portal add-account, or let the person sign up)"
        )
    return user


def _practice(agb: str) -> str:
    from portal.access.permissions import valid_agb
    from portal.releases import catalog

    if not valid_agb(agb):
        raise PortalCommandError(f"not an AGB code: {agb!r} (8 digits)")
    if not catalog.practice_in_any_release(agb):
        raise PortalCommandError(f"practice {agb} is in no published release under {catalog.releases_dir()}")
    return agb


def add_account(data_dir: Path, *, email: str, name: str = "", password: str) -> str:
    """An account with a verified e-mail address (allauth's EmailAddress, verified and primary)."""
    _setup(data_dir)
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email
    from django.db import transaction

    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise PortalCommandError(f"not an e-mail address: {email!r}") from None
    User = get_user_model()
    if User.objects.filter(email__iexact=email).exists() or EmailAddress.objects.filter(email__iexact=email).exists():
        raise PortalCommandError(f"an account with e-mail address {email} exists already")
    first, _, last = (name or "").strip().partition(" ")
    user = User(username=email[:150], email=email, first_name=first[:150], last_name=last[:150])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PortalCommandError("password refused: " + " ".join(exc.messages)) from None
    with transaction.atomic():
        user.set_password(password)
        user.save()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return f"account {email} created (e-mail address verified)"


def appoint_manager(data_dir: Path, *, agb: str, email: str) -> str:
    _setup(data_dir)
    from portal.access import actions

    agb = _practice(agb)
    user = _user(email)
    if not actions.appoint_manager(user, agb, actor=OPERATOR):
        return f"{user.email} is already a manager of practice {agb}"
    return f"{user.email} is now an authorisation manager of practice {agb}"


def grant(data_dir: Path, *, agb: str, email: str) -> str:
    _setup(data_dir)
    from portal.access import actions

    agb = _practice(agb)
    user = _user(email)
    if not actions.grant(user, agb, actor=OPERATOR):
        return f"{user.email} already has access to practice {agb}"
    return f"{user.email} now has access to practice {agb}"


def _insurer(insurer_id: str) -> str:
    """The insurer (concern) id as the required-insurers seed knows it; refused naming the known ids."""
    from orchestration.core.seeds import insurers

    insurer_id = (insurer_id or "").strip()
    known = sorted(i.insurer_id for i in insurers())
    if insurer_id not in known:
        raise PortalCommandError(
            f"unknown insurer {insurer_id!r} (known: {', '.join(known)}; see dbt_project/seeds/required_insurers.csv)"
        )
    return insurer_id


def appoint_insurer_user(data_dir: Path, *, insurer: str, email: str) -> str:
    """The operators' act of making E staff of an insurer: read access to the index tables of
    every practice (portal.md, "Who uses it"); an account already staff of another insurer moves."""
    _setup(data_dir)
    from portal.access import actions

    insurer = _insurer(insurer)
    user = _user(email)
    try:
        changed = actions.appoint_insurer_user(user, insurer, actor=OPERATOR)
    except actions.ActionRefused as exc:  # the seed changed between the two checks
        raise PortalCommandError(str(exc)) from None
    if not changed:
        return f"{user.email} is already staff of insurer {insurer}"
    return f"{user.email} is now staff of insurer {insurer} (reads the index tables of every practice)"


def appoint_operator(data_dir: Path, *, email: str, remove: bool = False) -> str:
    """Make E an operator (staff: the release page, sign-off and publish with a second factor),
    or with ``remove`` take it away; audited. The first operator is made this way, the next
    ones too or in the admin (docs/release-four-eyes.md)."""
    _setup(data_dir)
    from portal.access import actions
    from portal.access.permissions import has_totp

    user = _user(email)
    try:
        if remove:
            changed = actions.remove_operator(user, actor=OPERATOR)
            return f"{user.email} is {'no longer' if changed else 'not'} an operator"
        changed = actions.appoint_operator(user, actor=OPERATOR)
    except actions.ActionRefused as exc:
        raise PortalCommandError(str(exc)) from None
    state = "is now an operator" if changed else "is already an operator"
    if has_totp(user):
        return f"{user.email} {state}"
    return (
        f"{user.email} {state}; it can act as one after setting up its second factor "
        "(log in to the portal: /accounts/2fa/totp/activate/)"
    )


def reset_second_factor(data_dir: Path, *, email: str, checked_by: str, evidence: str) -> str:
    """Remove the second factor of an account that lost it, after ``checked_by`` proved the
    holder's identity as at enrolment; ``evidence`` says how (kept in the audit log)."""
    _setup(data_dir)
    from portal.access import actions

    user = _user(email)
    try:
        removed, sessions = actions.reset_second_factor(user, actor=OPERATOR, checked_by=checked_by, evidence=evidence)
    except actions.ActionRefused as exc:
        raise PortalCommandError(str(exc)) from None
    return (
        f"{user.email}: second factor removed ({removed} authenticator(s)), {sessions} session(s) ended, "
        "the holder mailed; at the next login it sets up a new one (/accounts/2fa/totp/activate/)"
    )


@dataclass(frozen=True)
class CreatedToken:
    """A token made by ``create_token``: the secret for stdout (shown once), the note for stderr."""

    secret: str
    note: str


def create_token(data_dir: Path, *, email: str, days: int | None = None, name: str = "") -> CreatedToken:
    """A personal API token for E's own scripts (portal.md, "The read API"), audited as made by
    an operator. The secret is returned once and never stored; the note names only its prefix."""
    _setup(data_dir)
    from django.utils import timezone

    from portal.access import tokens

    days = tokens.DEFAULT_DAYS if days is None else days
    if not 1 <= days <= tokens.MAX_DAYS:
        raise PortalCommandError(f"--days must be 1 to {tokens.MAX_DAYS}, not {days}")
    user = _user(email)
    if not user.is_active:
        raise PortalCommandError(f"the account {user.email} is blocked: no token for it")
    try:
        made = tokens.create_token(user, name=name, days=days, actor=OPERATOR)
    except tokens.TokenRefused as exc:
        raise PortalCommandError(f"token refused: {exc}") from None
    expires = timezone.localtime(made.token.expires_at)
    note = (
        f"token {tokens.TOKEN_PREFIX}{made.token.prefix}_... for {user.email}, valid until "
        f"{expires:%Y-%m-%d %H:%M %Z}; it is shown only now: store it (send it as Authorization: Bearer <token>)"
    )
    return CreatedToken(made.secret, note)


def audit_lines(data_dir: Path, *, agb: str | None = None) -> Iterable[str]:
    _setup(data_dir)
    from portal.access.models import AuditEvent
    from portal.access.permissions import valid_agb

    events = AuditEvent.objects.order_by("at", "id")
    if agb is not None:
        if not valid_agb(agb):
            raise PortalCommandError(f"not an AGB code: {agb!r} (8 digits)")
        events = events.filter(agb=agb)
    return [event.line() for event in events.iterator()]


def purge_expired(data_dir: Path) -> list[str]:
    """Delete what is past its retention period (portal/access/retention.py: expired sessions,
    old login records and contact messages, unconfirmed sign-ups); one line per kind, with its
    count. deploy/spiegel-portal-purge.timer runs it daily."""
    _setup(data_dir)
    from portal.access import retention

    return retention.purge().lines()


def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    progress: Callable[[str], None] = print,
) -> int:
    """Apply the migrations, then run gunicorn in the foreground until SIGTERM or Ctrl-C."""
    collect_static(data_dir)
    from django.conf import settings

    env = {
        **os.environ,
        "SPIEGEL_DATA_DIR": str(Path(data_dir).resolve()),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(max(1, workers)),
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        # the access log without the secrets a URL can carry (portal/logsafe.py)
        "--logger-class",
        "portal.gunicorn_logging.RedactingLogger",
        "--graceful-timeout",
        "10",
        "--timeout",
        "60",
        "--no-control-socket",
    ]
    progress(f"portal for {settings.DATA_DIR} on http://{host}:{port}/ (Ctrl-C to stop)")
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        progress(f"mail is written to files in {settings.EMAIL_FILE_PATH}")
    _stage("serve")
    process = subprocess.Popen(gunicorn, env=env, cwd=str(REPO_ROOT))

    def forward(signum, _frame):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                forward(signal.SIGINT, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # gunicorn exits 0 on SIGTERM; a stop by signal is a clean stop too
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code


def setup_demo(data_dir: Path) -> list[str]:
    """After the demo's publishing: a manager of one demo practice, a user of another (random
    passwords, printed), and how to start the portal and log in."""
    _setup(data_dir)
    from django.conf import settings

    from portal.access import actions
    from portal.releases import catalog

    shown = catalog.shown_releases()
    if not shown:
        return ["no published release: the portal has nothing to show yet"]
    rows = [row for row in catalog.read_csv(shown[0], "behandelindex.csv") if row.get("status") == "ok"]
    agbs = sorted({row["practice_agb"] for row in rows})
    if len(agbs) < 2:
        return ["fewer than two practices with an index in the newest release: no demo accounts"]
    manager_agb, user_agb = agbs[0], agbs[1]
    lines = []
    accounts = [
        ("beheerder@praktijk.example", "Demo Beheerder", manager_agb, "manager"),
        ("gebruiker@praktijk.example", "Demo Gebruiker", user_agb, "user"),
    ]
    for email, name, agb, role in accounts:
        from django.contrib.auth import get_user_model

        password = "demo-" + secrets.token_urlsafe(12)
        existing = get_user_model().objects.filter(email__iexact=email).first()
        if existing is None:
            add_account(data_dir, email=email, name=name, password=password)
        else:
            existing.set_password(password)
            existing.save(update_fields=["password"])
        user = _user(email)
        if role == "manager":
            actions.appoint_manager(user, agb, actor=OPERATOR)
            lines.append(f"manager of practice {agb}: {email}  password {password}")
        else:
            actions.grant(user, agb, actor=OPERATOR)
            lines.append(f"user of practice {agb}:    {email}  password {password}")
    lines += [
        f"start it:  spiegel portal serve --data-dir {Path(data_dir).resolve()}   (then open http://127.0.0.1:8000/accounts/login/)",
        f"log in with an address and password above; the manager's page is /praktijk/{manager_agb}/toegang/",
    ]
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        lines.append(f"mail (sign-up verification, decisions) lands in files under {settings.EMAIL_FILE_PATH}")
    else:
        lines.append(f"mail goes to the SMTP server {settings.EMAIL_HOST}")
    return lines
