"""The ``spiegel`` command line (../shared/spec/cli.md).

This module only parses arguments and calls the command in ``commands/``, which turns
the platform's outcome into text and an exit code: 0 on success, 1 with a one-line
reason on stderr when a command is refused or fails (:class:`CommandError`), 2 for a
wrong call. The commands import Dagster, dbt and Great Expectations only when they run,
so ``spiegel --help`` and a wrong call answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable

from orchestration.commands.alerts import check_day, cmd_alerts
from orchestration.commands.backup import cmd_backup, cmd_restore
from orchestration.commands.bench import cmd_bench
from orchestration.commands.common import CommandError, check_period
from orchestration.commands.demo import DEMO_PRACTICES, DEMO_SEED, DEMO_YEARS, cmd_demo
from orchestration.commands.fuzz import add_fuzz_arguments, cmd_fuzz
from orchestration.commands.generate import cmd_generate
from orchestration.commands.portal import cmd_portal
from orchestration.commands.release import cmd_publish, cmd_signoff
from orchestration.commands.run import cmd_run
from orchestration.commands.serve import cmd_serve
from orchestration.commands.status import cmd_status
from orchestration.commands.ui import cmd_ui
from orchestration.core import credentials
from orchestration.core.settings import ENGINES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spiegel",
        description="Spiegel: the landelijke behandelindex and spiegelinformatie for physiotherapy and "
        "exercise-therapy practices. Every command takes --data-dir (default: $SPIEGEL_DATA_DIR, "
        "else ./data).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", default=None, help="data directory (default: $SPIEGEL_DATA_DIR, else ./data)")
        p.set_defaults(func=func)
        return p

    p = command(
        "generate",
        cmd_generate,
        "write synthetic insurer deliveries for every period and insurer "
        "into DIR/landing/ and the planted truth into DIR/ground_truth/",
    )
    p.add_argument(
        "--years", type=int, nargs="+", default=list(DEMO_YEARS), help="years to generate (default 2023 2024)"
    )
    p.add_argument("--practices", type=int, default=DEMO_PRACTICES, help="number of practices (default 300)")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed (default 7)")
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        help="fraction of national volume (1.0 = ~9,000 practices, 4M patients, 45M lines a year); "
        "overrides --practices",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:ARGS]",
        help="plant a fault in one delivery: KIND or KIND:key=value,...; keys insurer (default vgz), "
        "period (default: the first generated), month (YYYY-MM, default May) and kind-specific "
        "ones (fraction, rows, column, label). Kinds: missing-insurer, missing-month, "
        "underdelivered-month, control-total-mismatch, checksum-mismatch, duplicate-claim-id, "
        "missing-column, bad-date, bad-amount, out-of-period, truncated-file, foreign-label "
        "(lines under another concern's label, e.g. foreign-label:insurer=vgz,label=9018,rows=25), "
        "unknown-label (lines under a label no concern has, default 9999), implausible-birth-date (rows "
        "lines, default 5, with a birth_date after their service_date). Repeatable.",
    )
    p.add_argument(
        "--exclusion-window",
        action="append",
        default=[],
        metavar="FIRST:LAST:REASON",
        help="configure an exclusion window for this data directory (method.md §9), e.g. "
        "'2020-03-16:2020-05-24:eerste golf COVID-19 (week 12 t/m 21)'; written to DIR/method_config/. Repeatable.",
    )
    p.add_argument(
        "--cancel",
        action="append",
        default=[],
        metavar="PERIOD:REASON",
        help="configure a cancelled version for this data directory (method.md §11), e.g. "
        "'2020-v1:de eerste golf van COVID-19 maakte deze versie onbetrouwbaar'; written to DIR/method_config/. "
        "Repeatable.",
    )
    p.add_argument(
        "--labels",
        choices=["mixed", "main"],
        default="mixed",
        help="mixed (default): a concern with a second label in dbt_project/seeds/insurer_labels.csv "
        "pays about half of its lines under it; main: every line under the concern's main label",
    )
    p.add_argument(
        "--redeliver",
        metavar="INSURER:PERIOD",
        default=None,
        help="write a new, fault-free delivery (later delivery_id) for one insurer and period, "
        "with the parameters of the earlier generation",
    )

    p = command(
        "run",
        cmd_run,
        "ingest the deliveries in force, run the gates and the method for a period "
        "(exit 0 even when gates fail: the verdict is data)",
    )
    p.add_argument(
        "--period",
        type=check_period,
        action="append",
        default=None,
        help="period YYYY-vN (repeatable; default: every period with deliveries)",
    )
    p.add_argument("--force", action="store_true", help="ingest, gate and compute again even what is done already")
    p.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=None,
        help="where the method runs (default $SPIEGEL_ENGINE, else duckdb)",
    )

    p = command(
        "status",
        cmd_status,
        "per period: deliveries in force per insurer, gate verdict with every "
        "blocking reason, sign-off, published revisions",
    )
    p.add_argument("--period", type=check_period, action="append", default=None, help="period YYYY-vN (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command(
        "signoff",
        cmd_signoff,
        "record the data-quality sign-off of a period; refused while a blocking gate fails. In service mode "
        "(SPIEGEL_SERVICE_MODE=1) only an operator may, with their personal token (docs/release-four-eyes.md)",
    )
    p.add_argument("--period", type=check_period, required=True)
    p.add_argument(
        "--token",
        default=None,
        help="the operator's personal portal token (default $SPIEGEL_OPERATOR_TOKEN): an active staff account "
        "with a second factor; required in service mode",
    )
    p.add_argument(
        "--by", default=None, help="outside service mode: name of the person signing off (not authenticated)"
    )
    p.add_argument("--comment", required=True, help="what was checked, in a sentence")

    p = command(
        "publish",
        cmd_publish,
        "publish the next revision of a period under DIR/releases/; refused without passed gates and a valid sign-off, "
        "and with four eyes (SPIEGEL_FOUR_EYES, on in service mode) by the operator who signed it off",
    )
    p.add_argument("--period", type=check_period, required=True)
    p.add_argument(
        "--token",
        default=None,
        help="the operator's personal portal token (default $SPIEGEL_OPERATOR_TOKEN); required in service mode",
    )
    p.add_argument("--by", default=None, help="outside service mode: name of the person publishing (not authenticated)")

    p = command(
        "demo",
        cmd_demo,
        "generate demo data, run, sign off (as demo) and publish every period, "
        "then say where the reports are and how to open the UI",
    )
    p.add_argument("--years", type=int, nargs="+", default=list(DEMO_YEARS))
    p.add_argument("--practices", type=int, default=DEMO_PRACTICES)
    p.add_argument("--seed", type=int, default=DEMO_SEED)

    p = command(
        "bench",
        cmd_bench,
        "the national-scale benchmark: time every stage from delivery to published index on one v3 period",
    )
    p.add_argument("--scale", type=float, default=1.0, help="fraction of national volume (default 1.0)")
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--report-sample", type=int, default=200, help="practices to render reports for (default 200)")
    p.add_argument("--output", default=None, help="JSON file for the figures (default DIR/bench/bench-<scale>.json)")
    p.add_argument(
        "--no-dagster",
        action="store_true",
        help="skip the second part: the period through the Dagster jobs, with each run's fixed costs",
    )

    p = command(
        "fuzz",
        cmd_fuzz,
        "generated bad deliveries through the delivery contract: each must be rejected with its rule, file "
        "and lines, or accepted with exactly the values the insurer meant; prints counts by rule",
    )
    add_fuzz_arguments(p)

    p = command(
        "backup",
        cmd_backup,
        "write a consistent, checksummed snapshot of what cannot be recomputed (sign-off log, releases, warehouse "
        "and gate log, portal and Dagster databases) into DEST/spiegel-backup-<UTC time>/, while the service runs "
        "(docs/backup.md)",
    )
    p.add_argument("dest", metavar="DEST", help="folder to write the snapshot folder into (made if missing)")
    p.add_argument(
        "--with-landing",
        action="store_true",
        help="also copy the deliveries under landing/ (always listed with their sha256 in landing.json)",
    )
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for each lock (publishing, sign-off log, warehouse) "
        "(default $SPIEGEL_LOCK_TIMEOUT, else 900)",
    )

    p = command(
        "restore",
        cmd_restore,
        "bring a snapshot of spiegel backup back into a new or empty data directory (--data-dir NEW); refused, "
        "before anything is written, when a checksum does not match (docs/backup.md)",
    )
    p.add_argument("src", metavar="SRC", help="the snapshot folder, or a folder of snapshots (the newest is used)")
    p.add_argument(
        "--landing-from",
        default=None,
        metavar="DIR",
        help="for a snapshot without the deliveries: copy them from DIR (a landing/ folder), each checked "
        "against the snapshot's landing.json",
    )
    p.add_argument("--verify-only", action="store_true", help="only check the snapshot's checksums; write nothing")

    p = command("ui", cmd_ui, "start the Dagster UI (dagster dev) on this data directory")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)

    p = command(
        "serve",
        cmd_serve,
        "service mode: dagster-webserver, dagster-daemon (sensors, schedules, run queue, run monitoring) and the "
        "portal, each its own process, restarted when it dies and stopped together on SIGTERM or Ctrl-C "
        "(docs/service.md)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address both web servers listen on (default 127.0.0.1)")
    p.add_argument("--dagster-port", type=int, default=3000, help="the Dagster UI's port (default 3000)")
    p.add_argument("--portal-port", type=int, default=8000, help="the portal's port (default 8000)")
    p.add_argument("--portal-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    p.add_argument(
        "--prepare-only",
        action="store_true",
        help="write DIR/dagster_home/dagster.yaml from the settings, print the three processes' command lines "
        "and exit (ExecStartPre of the separate systemd units in deploy/)",
    )

    p = command(
        "portal",
        cmd_portal,
        "the practice portal: serve it, and the operators' tasks (accounts, managers, grants, insurer users, "
        "API tokens, audit log)",
    )
    portal_sub = p.add_subparsers(dest="portal_command", required=True, metavar="SUBCOMMAND")

    def portal_command(name: str, help_text: str) -> argparse.ArgumentParser:
        q = portal_sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument(
            "--data-dir", default=argparse.SUPPRESS, help="data directory (default: $SPIEGEL_DATA_DIR, else ./data)"
        )
        return q

    q = portal_command("serve", "apply the portal's migrations and serve it with gunicorn")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=int, default=8000)
    q.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    q = portal_command(
        "add-account", "create an account with a verified e-mail address; the password is read from standard input"
    )
    q.add_argument("--email", required=True)
    q.add_argument("--name", default="")
    q = portal_command(
        "appoint-manager", "make an account an authorisation manager of a practice (audited as done by an operator)"
    )
    q.add_argument("--agb", required=True, help="the practice's AGB code (8 digits)")
    q.add_argument("--email", required=True)
    q = portal_command(
        "grant", "give an account access to a practice as if a manager approved it (audited as done by an operator)"
    )
    q.add_argument("--agb", required=True, help="the practice's AGB code (8 digits)")
    q.add_argument("--email", required=True)
    q = portal_command(
        "appoint-insurer-user",
        "make an account staff of an insurer: it reads the index tables of every practice "
        "(audited as done by an operator)",
    )
    q.add_argument("--insurer", required=True, help="the insurer's id, as in dbt_project/seeds/required_insurers.csv")
    q.add_argument("--email", required=True)
    q = portal_command(
        "appoint-operator",
        "make an account an operator (staff: the release page, sign-off and publish, with a TOTP "
        "second factor; audited as done by an operator)",
    )
    q.add_argument("--email", required=True)
    q.add_argument("--remove", action="store_true", help="take the operator role away instead")
    q = portal_command(
        "reset-second-factor",
        "remove the second factor of an account that lost it (TOTP, recovery codes, security keys) and end "
        "its sessions, after its holder's identity was checked as at enrolment (audited, the holder mailed)",
    )
    q.add_argument("--email", required=True)
    q.add_argument("--checked-by", required=True, help="who checked the holder's identity")
    q.add_argument("--evidence", required=True, help="how, e.g. 'in person, passport seen' (kept in the audit log)")
    q = portal_command(
        "create-token",
        "a personal API token for an account, printed once on standard output (audited as done by an operator)",
    )
    q.add_argument("--email", required=True)
    q.add_argument("--days", type=int, default=None, help="days the token is valid, 1 to 366 (default 90)")
    q.add_argument("--name", default="", help="what the token is for, shown on the owner's token page")
    q = portal_command("audit", "print the portal's audit log, oldest first")
    q.add_argument("--agb", default=None, help="only the lines about this practice")
    portal_command(
        "purge-expired",
        "delete what is past its retention period (expired sessions, old login records and contact messages, "
        "unconfirmed sign-ups; the privacy statement's periods) and print the counts",
    )

    p = command(
        "alerts",
        cmd_alerts,
        "the operations team's alerts (docs/alerts.md): what the Dagster sensors and the daily schedule mail",
    )
    alerts_sub = p.add_subparsers(dest="alerts_command", required=True, metavar="SUBCOMMAND")
    q = alerts_sub.add_parser(
        "check",
        help="run every alert check once (gate blocks, failed runs, the calendar, sign-offs, publishes) and "
        "send what was not sent before; for cron without the Dagster daemon",
        description="run every alert check once and send what was not sent before (docs/alerts.md)",
    )
    q.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="data directory (default: $SPIEGEL_DATA_DIR, else ./data)"
    )
    q.add_argument(
        "--today",
        type=check_day,
        default=None,
        help="check as of this day (YYYY-MM-DD, default today): the calendar, and the news of the 7 days before it",
    )
    return parser


def _quiet_optional_imports() -> None:
    """Great Expectations imports pyspark (installed for SPIEGEL_ENGINE=spark) to see
    whether it can use it, and pyspark then warns that it prefers pandas < 3: noise in
    every command's output about a library the command does not use."""

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark(\..*)?$")


def main(argv: list[str] | None = None) -> int:
    _quiet_optional_imports()
    credentials.load_into_environment()  # systemd's encrypted secrets, before anything reads the environment
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"spiegel {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spiegel {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the operator; the traceback with SPIEGEL_DEBUG=1
        if os.environ.get("SPIEGEL_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"spiegel {args.command}: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
