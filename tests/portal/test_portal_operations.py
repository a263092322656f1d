"""``spiegel portal add-account|appoint-manager|grant|audit`` and the demo's accounts, each in
a subprocess on a data directory of its own (as operators run them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest

from tests.support.release_factory import index_row, make_release
from tests.support.served import REPO_ROOT, portal_env, portal_mails, spiegel_portal_batch

A, B = "11111111", "22222222"
PASSWORD = "Operator-wachtwoord-2024"


@pytest.mark.django_db
def test_database_is_the_configured_one():
    from django.db import connection

    expected = "postgresql" if os.environ.get("SPIEGEL_PORTAL_DATABASE_URL") else "sqlite"
    assert connection.vendor == expected
    print(f"portal database vendor: {connection.vendor}")


@pytest.fixture
def data_dir(tmp_path):
    releases = tmp_path / "data" / "releases"
    releases.mkdir(parents=True)
    make_release(
        releases,
        "2024-v3",
        "r1",
        [index_row("2024-v3", "fysiotherapie", A), index_row("2024-v3", "oefentherapie", B, patients=9)],
    )
    return tmp_path / "data"


def test_account_manager_grant_and_audit_commands(data_dir):
    email, other = f"houder-{uuid.uuid4().hex[:8]}@praktijk.nl", f"therapeut-{uuid.uuid4().hex[:8]}@praktijk.nl"
    (
        created,
        again,
        weak,
        created_other,
        bad_agb,
        unknown_agb,
        unknown_account,
        appointed,
        appointed_again,
        granted,
        audit,
        only_b,
        audit_bad,
    ) = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", email, "--name", "Anna de Vries"], PASSWORD + "\n"),
            (["add-account", "--email", email.upper()], PASSWORD + "\n"),
            (["add-account", "--email", other], "kort\n"),
            (["add-account", "--email", other], PASSWORD + "\n"),
            (["appoint-manager", "--agb", "1234", "--email", email], None),
            (["appoint-manager", "--agb", "99999999", "--email", email], None),
            (["appoint-manager", "--agb", A, "--email", "niemand@nergens.nl"], None),
            (["appoint-manager", "--agb", A, "--email", email], None),
            (["appoint-manager", "--agb", A, "--email", email], None),
            (["grant", "--agb", B, "--email", other], None),  # B has rows, if no index
            (["audit"], None),
            (["audit", "--agb", B], None),
            (["audit", "--agb", "x"], None),
        ],
    )
    assert created.returncode == 0 and f"account {email} created" in created.stdout, created.stderr
    assert again.returncode == 1 and "exists already" in again.stderr
    assert weak.returncode == 1 and "password refused" in weak.stderr
    assert created_other.returncode == 0
    for refused, reason in [
        (bad_agb, "not an AGB code"),
        (unknown_agb, "in no published release"),
        (unknown_account, "no portal account"),
    ]:
        assert refused.returncode == 1 and reason in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert appointed.returncode == 0 and "authorisation manager of practice 11111111" in appointed.stdout
    assert appointed_again.returncode == 0 and "already" in appointed_again.stdout
    assert granted.returncode == 0 and f"{other} now has access to practice {B}" in granted.stdout

    assert audit.returncode == 0
    mine = [line for line in audit.stdout.splitlines() if email in line or other in line]
    assert [line.split()[1] for line in mine] == ["manager_appointed", "grant"]
    assert all("by=operator (spiegel portal)" in line for line in mine)
    assert only_b.returncode == 0 and only_b.stdout.strip()
    assert all(f"agb={B}" in line for line in only_b.stdout.splitlines())
    assert audit_bad.returncode == 1
    # the decisions were mailed (file backend under the data directory, unless SMTP is configured)
    if not os.environ.get("SPIEGEL_PORTAL_EMAIL_HOST"):
        mailed = "".join(message.as_string() for message in portal_mails(data_dir))
        assert email in mailed and other in mailed


DEMO_CHECK = """
import sys
from portal import operations
lines = operations.setup_demo(sys.argv[1])
print("\\n".join(lines))
from django.contrib.auth import get_user_model
from portal.access.permissions import can_view, is_manager
import re
for line in lines:
    m = re.search(r"(manager|user) of practice ([0-9]{8}):\\s+(\\S+)\\s+password (\\S+)", line)
    if m:
        user = get_user_model().objects.get(email=m[3])
        ok = user.check_password(m[4]) and can_view(user, m[2]) and (m[1] == "user" or is_manager(user, m[2]))
        print("CHECK", m[1], m[2], ok)
"""


def test_demo_sets_up_a_manager_and_a_user(data_dir):
    releases = data_dir / "releases"
    make_release(
        releases, "2025-v1", "r1", [index_row("2025-v1", "fysiotherapie", A), index_row("2025-v1", "fysiotherapie", B)]
    )
    result = subprocess.run(
        [sys.executable, "-c", DEMO_CHECK, str(data_dir)],
        cwd=REPO_ROOT,
        env=portal_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert re.findall(r"CHECK (\w+) ([0-9]{8}) (\w+)", result.stdout) == [("manager", A, "True"), ("user", B, "True")]
    assert "spiegel portal serve --data-dir" in result.stdout and "/accounts/login/" in result.stdout
    if not os.environ.get("SPIEGEL_PORTAL_DATABASE_URL"):
        assert str(data_dir / "portal" / "mail") in result.stdout


TOKEN_CHECK = """
import sys
from datetime import timedelta
from django.utils import timezone
from portal import operations
operations._setup(sys.argv[1])
from portal.access.models import ApiToken, InsurerStaff
from portal.access.tokens import find_token
for secret, email, days in zip(sys.argv[2::3], sys.argv[3::3], sys.argv[4::3]):
    token = find_token(secret)
    left = token.expires_at - timezone.now()
    stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    ok = token.user.email == email and timedelta(days=int(days)) - left < timedelta(minutes=5)
    print("TOKEN", token.prefix, ok, any(secret in v for v in stored))
print("STAFF", sorted(InsurerStaff.objects.values_list("user__email", "insurer_id", "appointed_by")))
"""


def test_appoint_insurer_user_and_create_token_commands(data_dir):
    email = f"analist-{uuid.uuid4().hex[:8]}@verzekeraar.nl"
    (
        created,
        unknown_insurer,
        unknown_account,
        appointed,
        appointed_again,
        token_default,
        token_week,
        token_unknown,
        token_zero,
        token_long,
        audit,
    ) = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", email], PASSWORD + "\n"),
            (["appoint-insurer-user", "--insurer", "achmea", "--email", email], None),
            (["appoint-insurer-user", "--insurer", "vgz", "--email", "niemand@nergens.nl"], None),
            (["appoint-insurer-user", "--insurer", "vgz", "--email", email], None),
            (["appoint-insurer-user", "--insurer", "vgz", "--email", email.upper()], None),
            (["create-token", "--email", email], None),
            (["create-token", "--email", email, "--days", "7", "--name", "nachtelijke export"], None),
            (["create-token", "--email", "niemand@nergens.nl"], None),
            (["create-token", "--email", email, "--days", "0"], None),
            (["create-token", "--email", email, "--days", "367"], None),
            (["audit"], None),
        ],
    )
    assert created.returncode == 0, created.stderr
    for refused, reason in [
        (unknown_insurer, "unknown insurer 'achmea' (known: cz, de_friesland, eno, menzis, vgz,"),
        (unknown_account, "no portal account"),
        (token_unknown, "no portal account"),
        (token_zero, "--days must be 1 to 366"),
        (token_long, "--days must be 1 to 366"),
    ]:
        assert refused.returncode == 1 and reason in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and not refused.stdout.strip()
    assert appointed.returncode == 0 and f"{email} is now staff of insurer vgz" in appointed.stdout
    assert appointed_again.returncode == 0 and "already staff of insurer vgz" in appointed_again.stdout

    secrets = []
    for made in (token_default, token_week):
        assert made.returncode == 0, made.stderr
        # stdout is the token alone (TOKEN=$(spiegel portal create-token ...)); stderr one line
        assert re.fullmatch(r"spg_[0-9a-f]{8}_[A-Za-z0-9_-]{40}\n", made.stdout), made.stdout
        secret = made.stdout.strip()
        note = made.stderr.strip().splitlines()
        assert len(note) == 1 and f"token {secret[:13]}..." in note[0] and "valid until" in note[0]
        assert secret not in made.stderr and email in note[0]
        secrets.append(secret)

    mine = [line for line in audit.stdout.splitlines() if f"subject={email}" in line]
    assert [line.split()[1] for line in mine] == ["insurer_appointed", "token_created", "token_created"]
    assert all("by=operator (spiegel portal)" in line for line in mine)
    assert "detail=insurer vgz" in mine[0]
    assert not any(secret in audit.stdout for secret in secrets)  # the log names the prefix only

    check = subprocess.run(
        [sys.executable, "-c", TOKEN_CHECK, str(data_dir), secrets[0], email, "90", secrets[1], email, "7"],
        cwd=REPO_ROOT,
        env=portal_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    # both tokens work, with the expiry asked for, and the database holds neither secret
    assert re.findall(r"TOKEN ([0-9a-f]{8}) (\w+) (\w+)", check.stdout) == [
        (secrets[0][4:12], "True", "False"),
        (secrets[1][4:12], "True", "False"),
    ]
    assert f"('{email}', 'vgz', 'operator (spiegel portal)')" in check.stdout


def test_appoint_operator_command_makes_and_unmakes_staff_audited(data_dir):
    email = f"operator-{uuid.uuid4().hex[:8]}@spiegel.nl"
    created, appointed, again, unknown, removed, removed_again, audit = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", email], PASSWORD + "\n"),
            (["appoint-operator", "--email", email], None),
            (["appoint-operator", "--email", email.upper()], None),
            (["appoint-operator", "--email", "niemand@nergens.nl"], None),
            (["appoint-operator", "--email", email, "--remove"], None),
            (["appoint-operator", "--email", email, "--remove"], None),
            (["audit"], None),
        ],
    )
    assert created.returncode == 0, created.stderr
    # without a second factor the account is staff but cannot act yet, and is told how
    assert appointed.returncode == 0 and f"{email} is now an operator" in appointed.stdout
    assert "/accounts/2fa/totp/activate/" in appointed.stdout
    assert again.returncode == 0 and "is already an operator" in again.stdout
    assert unknown.returncode == 1 and "no portal account" in unknown.stderr and not unknown.stdout.strip()
    assert removed.returncode == 0 and f"{email} is no longer an operator" in removed.stdout
    assert removed_again.returncode == 0 and f"{email} is not an operator" in removed_again.stdout
    mine = [line.split()[1] for line in audit.stdout.splitlines() if f"subject={email}" in line]
    assert mine == ["operator_appointed", "operator_removed"]


def test_reset_second_factor_command_refuses_without_evidence_or_a_factor(data_dir):
    email = f"kwijt-{uuid.uuid4().hex[:8]}@spiegel.nl"

    def reset(who: str, evidence: str) -> tuple[list[str], None]:
        return (["reset-second-factor", "--email", who, "--checked-by", "Anna", "--evidence", evidence], None)

    created, no_evidence, no_factor, unknown, audit = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", email], PASSWORD + "\n"),
            (["reset-second-factor", "--email", email, "--checked-by", "Anna", "--evidence", "  "], None),
            (
                ["reset-second-factor", "--email", email, "--checked-by", "Anna", "--evidence", "in persoon, paspoort"],
                None,
            ),
            (
                ["reset-second-factor", "--email", "niemand@nergens.nl", "--checked-by", "A", "--evidence", "x" * 12],
                None,
            ),
            (["audit"], None),
        ],
    )
    assert created.returncode == 0, created.stderr
    assert no_evidence.returncode == 1 and "Beschrijf hoe de identiteit is gecontroleerd" in no_evidence.stderr
    assert no_factor.returncode == 1 and "heeft geen tweede factor" in no_factor.stderr
    assert unknown.returncode == 1 and "no portal account" in unknown.stderr
    assert " second_factor_reset " not in audit.stdout
