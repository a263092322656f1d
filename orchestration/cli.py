"""The ``spiegel`` command line (../shared/spec/cli.md).

This module only parses arguments, calls the platform's modules and turns their
outcome into text and an exit code: 0 on success, 1 with a one-line reason on stderr
when a command is refused or fails, 2 for a wrong call.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

from orchestration.config import ENGINE_ENV, ENGINES, SpiegelPaths, periods

DEMO_YEARS = (2023, 2024)
DEMO_PRACTICES = 300
DEMO_SEED = 7


class CommandError(Exception):
    """A refusal or failure to report as one line on stderr (exit 1)."""


def say(message: str) -> None:
    print(message, flush=True)


def _paths(args: argparse.Namespace) -> SpiegelPaths:
    paths = SpiegelPaths.from_env(args.data_dir)
    from orchestration.runner import use_data_dir

    use_data_dir(paths)
    return paths


def _check_period(period: str) -> str:
    if period not in periods():
        raise argparse.ArgumentTypeError(f"unknown period {period!r}: expected YYYY-vN with N in 1..3 "
                                         "(known periods are listed in dbt_project/seeds/periods.csv)")
    return period


# ------------------------------------------------------------------------- commands


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration import synthetic

    paths = _paths(args)
    if args.redeliver:
        insurer, _, period = args.redeliver.partition(":")
        if not insurer or not period:
            raise CommandError("--redeliver takes INSURER:PERIOD, e.g. vgz:2024-v1")
        folder = synthetic.redeliver(paths.data_dir, insurer, _check_period(period), progress=say)
        say(f"redelivered {insurer} {period}: {folder}")
        return 0
    try:
        faults = [synthetic.parse_fault(text) for text in args.fault]
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    summary = synthetic.generate(paths.data_dir, years=args.years, practices=args.practices, seed=args.seed,
                                 scale=args.scale, faults=faults, progress=say, labels=args.labels)
    say(f"wrote {len(summary.deliveries)} deliveries ({summary.claim_lines:,} claim lines, "
        f"{summary.practices:,} practices, {summary.patients:,} patients) in {summary.seconds:.1f} s "
        f"under {paths.landing}; skipped {len(summary.skipped)} that already existed")
    return 0


def _periods_to_run(args: argparse.Namespace, paths: SpiegelPaths) -> list[str]:
    from orchestration.landing import landed_periods

    if args.period:
        return args.period
    found = landed_periods(paths.landing)
    if not found:
        raise CommandError(f"no complete deliveries under {paths.landing}; run `spiegel generate` first")
    return found


def cmd_run(args: argparse.Namespace) -> int:
    from orchestration import runner

    paths = _paths(args)
    if args.engine:     # the one engine setting (config.engine) for this run and its dbt
        os.environ[ENGINE_ENV] = args.engine
    failures = []
    for period in _periods_to_run(args, paths):
        started = time.monotonic()
        outcomes = runner.run_period(paths, period, force=args.force, progress=say)
        failures += [o for o in outcomes if o.crashed]
        say(f"{period}: runs finished in {time.monotonic() - started:.1f} s")
        _print_verdict(paths, period)
    if failures:
        first = failures[0]
        raise CommandError(f"{len(failures)} run(s) failed; first: {first.job} {first.partition} "
                           f"(run {first.run_id}): {first.message or 'see the run in the Dagster UI'}")
    return 0


def _print_verdict(paths: SpiegelPaths, period: str) -> None:
    from orchestration.readiness import period_state
    from orchestration.warehouse import connect_read

    with connect_read(paths) as con:
        state = period_state(con, paths, period)
    if state.gates_passed:
        say(f"{period}: gates PASS — ready for sign-off (spiegel signoff --period {period} --by NAME --comment TEXT)")
    else:
        say(f"{period}: BLOCKED — {len(state.blocking_reasons)} reason(s):")
        for reason in state.blocking_reasons:
            say(f"  - {reason}")


def period_status(paths: SpiegelPaths, period: str) -> dict:
    """Everything `spiegel status` shows for one period, as data."""
    from orchestration.publish import revisions
    from orchestration.readiness import period_state
    from orchestration.signoff import read_signoffs, valid_signoff
    from orchestration.warehouse import connect_read

    with connect_read(paths) as con:
        state = period_state(con, paths, period)
    by_insurer = {d["insurer"]: d for d in state.deliveries}
    valid = valid_signoff(paths, state)
    all_signoffs = read_signoffs(paths, period)
    return {
        "period": period,
        "verdict": state.verdict,
        "blocking_reasons": state.blocking_reasons,
        "warnings": state.warnings,
        "deliveries": [
            {"insurer": insurer, "landed": state.landed.get(insurer),
             "ingested": (by_insurer.get(insurer) or {}).get("delivery_id"),
             "status": (by_insurer.get(insurer) or {}).get("status", "missing"),
             "rows": (by_insurer.get(insurer) or {}).get("row_count"),
             "rejection_rule": (by_insurer.get(insurer) or {}).get("rejection_rule")}
            for insurer in state.required
        ],
        "signoff": valid.as_dict() if valid else None,
        "void_signoffs": len([s for s in all_signoffs if valid is None or s.signoff_id != valid.signoff_id]),
        "revisions": revisions(paths, period),
    }


def cmd_status(args: argparse.Namespace) -> int:
    from orchestration import runner
    from orchestration.landing import scan_landing
    from orchestration.readiness import known_periods
    from orchestration.warehouse import connect_read

    paths = _paths(args)
    # a run killed with its process (kill -9, power loss) would otherwise stay "started" in the UI
    dead_runs = runner.fail_dead_runs()
    if args.period:
        selected = args.period
    else:
        with connect_read(paths) as con:
            selected = known_periods(con, paths)
    statuses = [period_status(paths, p) for p in selected]
    anomalies = scan_landing(paths.landing)[1]
    if args.json:
        print(json.dumps({"periods": statuses, "landing_anomalies": [
            {"path": str(a.path), "reason": a.reason} for a in anomalies],
            "runs_marked_failed": dead_runs}, indent=2, default=str))
        return 0
    for run_id in dead_runs:
        say(f"run {run_id} was still marked started but its process is gone: marked failed")
    if not statuses:
        say(f"no periods yet under {paths.data_dir} (run `spiegel generate` or land deliveries in {paths.landing})")
    for s in statuses:
        say(f"== {s['period']}: {s['verdict'].upper()}")
        for d in s["deliveries"]:
            detail = d["status"]
            if d["status"] == "accepted":
                detail += f", {d['rows']:,} lines"
            if d["rejection_rule"]:
                detail += f" (rule {d['rejection_rule']})"
            if d["landed"] and d["landed"] != d["ingested"]:
                detail += f"; newer delivery {d['landed']} not yet ingested"
            say(f"   {d['insurer']:<18} {d['ingested'] or d['landed'] or '-':<16} {detail}")
        for reason in s["blocking_reasons"]:
            say(f"   BLOCKING: {reason}")
        for warning in s["warnings"]:
            say(f"   warning: {warning}")
        if s["signoff"]:
            so = s["signoff"]
            say(f"   sign-off: {so['by']} at {so['at']}: {so['comment']!r}")
        else:
            say("   sign-off: none valid" + (f" ({s['void_signoffs']} void: deliveries changed since)"
                                             if s["void_signoffs"] else ""))
        say(f"   published: {', '.join(s['revisions']) or 'nothing'}")
    for a in anomalies:
        say(f"landing anomaly: {a.path}: {a.reason}")
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    from orchestration import runner

    _paths(args)
    outcome = runner.sign_off(args.period, args.by, args.comment)
    if not outcome.success:
        raise CommandError(outcome.message or f"sign-off of {args.period} failed (run {outcome.run_id})")
    say(f"{args.period}: signed off by {args.by} (run {outcome.run_id})")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from orchestration import runner
    from orchestration.publish import newest_revision

    paths = _paths(args)
    say(f"{args.period}: publishing (tables, release.json, reports) ...")
    outcome = runner.publish(args.period)
    if not outcome.success:
        raise CommandError(outcome.message or f"publish of {args.period} failed (run {outcome.run_id})")
    say(f"{args.period}: published {newest_revision(paths, args.period)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration import runner, synthetic
    from orchestration.landing import landed_periods
    from orchestration.publisher import Publisher

    paths = _paths(args)
    started = time.monotonic()
    published: list[Path] = []
    # the publishing process starts (and imports) while the data is generated
    with Publisher(paths) as publisher:
        if not landed_periods(paths.landing):
            say(f"generating synthetic deliveries for {', '.join(map(str, args.years))} "
                f"({args.practices} practices, seed {args.seed}) ...")
            summary = synthetic.generate(paths.data_dir, years=list(args.years), practices=args.practices,
                                         seed=args.seed, progress=say)
            say(f"  {len(summary.deliveries)} deliveries, {summary.claim_lines:,} claim lines in {summary.seconds:.1f} s")
        else:
            say(f"using the deliveries already under {paths.landing}")

        def collect_published() -> None:
            outcome = publisher.result()
            if not outcome.success:
                raise CommandError(f"demo publish of {outcome.period} failed: {outcome.message}")
            say(f"{outcome.period}: published {outcome.revision} ({outcome.seconds:.0f} s, reports included)")
            published.append(Path(outcome.revision))

        for period in landed_periods(paths.landing):
            runner.run_period(paths, period, progress=say)
            status = period_status(paths, period)
            if status["verdict"] != "pass":
                say(f"{period}: BLOCKED, not published: " + " | ".join(status["blocking_reasons"]))
                continue
            if status["signoff"] is None:
                outcome = runner.sign_off(period, "demo", "demo run: synthetic data, signed off automatically")
                if not outcome.success:
                    raise CommandError(f"demo sign-off of {period} failed: {outcome.message}")
            if publisher.busy:
                collect_published()   # a period's reports show the periods before it: in order
            say(f"{period}: publishing (tables, release.json, reports) beside the next period ...")
            publisher.submit(period)
        while publisher.busy:
            collect_published()
    say("")
    say(f"demo finished in {time.monotonic() - started:.0f} s; published {len(published)} period(s):")
    for rev in published:
        say(f"  {rev}  (reports: {rev / 'reports'})")
    if published:
        say(f"national overview: {published[-1] / 'reports' / 'national_overview.html'}")
    say(f"status:   spiegel status --data-dir {paths.data_dir}")
    say(f"the UI:   spiegel ui --data-dir {paths.data_dir}   (then open http://127.0.0.1:3000)")
    from portal import operations

    say("")
    say("the practice portal:")
    for line in operations.setup_demo(paths.data_dir):
        say(f"  {line}")
    return 0


UI_STOP_SECONDS = 20.0  # how long `dagster dev` may take to stop before its processes are killed


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` as a child in a process group of its own: Ctrl-C or SIGTERM stops
    all of it (webserver, daemon, code server, run workers, dbt) within UI_STOP_SECONDS,
    also while a run is in progress; runs it interrupted are then marked failed."""
    import signal
    import subprocess

    from orchestration import runner
    from orchestration.config import REPO_ROOT

    paths = _paths(args)
    earlier = runner.fail_dead_runs()
    if earlier:
        say(f"marked {len(earlier)} run(s) failed whose process had gone: {', '.join(earlier)}")
    dagster = Path(sys.executable).parent / "dagster"
    say(f"Dagster UI for {paths.data_dir} on http://{args.host}:{args.port} (Ctrl-C to stop)")
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        child = subprocess.Popen([str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
                                  "-h", args.host, "-p", str(args.port)], cwd=REPO_ROOT, start_new_session=True,
                                 preexec_fn=_terminate_with_parent)
        while child.poll() is None and not received:
            try:
                child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if received:
            say("stopping the Dagster UI ...")
        stopped_cleanly = _stop_process_group(child, float(os.environ.get("SPIEGEL_UI_STOP_SECONDS", UI_STOP_SECONDS)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    interrupted = runner.fail_dead_runs()
    if interrupted:
        say(f"marked {len(interrupted)} run(s) failed that were in progress when the UI stopped: "
            f"{', '.join(interrupted)}")
    if not stopped_cleanly:
        say("the UI's processes did not stop within the grace period and were killed")
    if received:
        return 0
    raise CommandError(f"dagster dev exited with code {child.returncode}")


def _terminate_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM it when `spiegel ui` dies, even by
    SIGKILL, so dagster dev (in a session of its own) never outlives it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_process_group(child, grace: float) -> bool:
    """SIGTERM the child's process group, wait up to ``grace`` seconds for every member
    to exit, then SIGKILL what is left. True when nothing had to be killed."""
    import signal
    import subprocess

    def group_alive() -> bool:
        try:
            os.killpg(child.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    if group_alive():
        try:
            os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        if not group_alive():
            return True
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()
    return False


def cmd_portal(args: argparse.Namespace) -> int:
    """``spiegel portal SUBCOMMAND``: the practice portal's operator tasks (portal.md)."""
    from portal import operations

    paths = SpiegelPaths.from_env(args.data_dir)
    try:
        if args.portal_command == "serve":
            return operations.serve(paths.data_dir, host=args.host, port=args.port, workers=args.workers,
                                    progress=say)
        if args.portal_command == "add-account":
            password = sys.stdin.readline().rstrip("\n")
            say(operations.add_account(paths.data_dir, email=args.email, name=args.name, password=password))
        elif args.portal_command == "appoint-manager":
            say(operations.appoint_manager(paths.data_dir, agb=args.agb, email=args.email))
        elif args.portal_command == "grant":
            say(operations.grant(paths.data_dir, agb=args.agb, email=args.email))
        elif args.portal_command == "audit":
            for line in operations.audit_lines(paths.data_dir, agb=args.agb):
                say(line)
    except operations.PortalCommandError as exc:
        raise CommandError(str(exc)) from exc
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from orchestration import bench

    paths = _paths(args)
    bench.run_benchmark(paths, scale=args.scale, seed=args.seed, report_sample=args.report_sample,
                        output=Path(args.output) if args.output else None, progress=say,
                        dagster=not args.no_dagster)
    return 0


# --------------------------------------------------------------------------- parser


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
        p.add_argument("--data-dir", default=None,
                       help="data directory (default: $SPIEGEL_DATA_DIR, else ./data)")
        p.set_defaults(func=func)
        return p

    p = command("generate", cmd_generate, "write synthetic insurer deliveries for every period and insurer "
                "into DIR/landing/ and the planted truth into DIR/ground_truth/")
    p.add_argument("--years", type=int, nargs="+", default=list(DEMO_YEARS), help="years to generate (default 2023 2024)")
    p.add_argument("--practices", type=int, default=DEMO_PRACTICES, help="number of practices (default 300)")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed (default 7)")
    p.add_argument("--scale", type=float, default=None,
                   help="fraction of national volume (1.0 = ~9,000 practices, 4M patients, 45M lines a year); "
                        "overrides --practices")
    p.add_argument("--fault", action="append", default=[], metavar="KIND[:ARGS]",
                   help="plant a fault in one delivery: KIND or KIND:key=value,...; keys insurer (default vgz), "
                        "period (default: the first generated), month (YYYY-MM, default May) and kind-specific "
                        "ones (fraction, rows, column, label). Kinds: missing-insurer, missing-month, "
                        "underdelivered-month, control-total-mismatch, checksum-mismatch, duplicate-claim-id, "
                        "missing-column, bad-date, bad-amount, out-of-period, truncated-file, foreign-label "
                        "(lines under another concern's label, e.g. foreign-label:insurer=vgz,label=9018,rows=25), "
                        "unknown-label (lines under a label no concern has, default 9999), implausible-birth-date (rows "
                        "lines, default 5, with a birth_date after their service_date). Repeatable.")
    p.add_argument("--labels", choices=["mixed", "main"], default="mixed",
                   help="mixed (default): a concern with a second label in dbt_project/seeds/insurer_labels.csv "
                        "pays about half of its lines under it; main: every line under the concern's main label")
    p.add_argument("--redeliver", metavar="INSURER:PERIOD", default=None,
                   help="write a new, fault-free delivery (later delivery_id) for one insurer and period, "
                        "with the parameters of the earlier generation")

    p = command("run", cmd_run, "ingest the deliveries in force, run the gates and the method for a period "
                "(exit 0 even when gates fail: the verdict is data)")
    p.add_argument("--period", type=_check_period, action="append", default=None,
                   help="period YYYY-vN (repeatable; default: every period with deliveries)")
    p.add_argument("--force", action="store_true", help="re-ingest deliveries even when unchanged")
    p.add_argument("--engine", choices=list(ENGINES), default=None,
                   help="where the method runs (default $SPIEGEL_ENGINE, else duckdb)")

    p = command("status", cmd_status, "per period: deliveries in force per insurer, gate verdict with every "
                "blocking reason, sign-off, published revisions")
    p.add_argument("--period", type=_check_period, action="append", default=None, help="period YYYY-vN (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("signoff", cmd_signoff, "record the data-quality sign-off of a period; refused while a "
                "blocking gate fails")
    p.add_argument("--period", type=_check_period, required=True)
    p.add_argument("--by", required=True, help="name of the person signing off")
    p.add_argument("--comment", required=True, help="what was checked, in a sentence")

    p = command("publish", cmd_publish, "publish the next revision of a period under DIR/releases/; refused "
                "without passed gates and a valid sign-off")
    p.add_argument("--period", type=_check_period, required=True)

    p = command("demo", cmd_demo, "generate demo data, run, sign off (as demo) and publish every period, "
                "then say where the reports are and how to open the UI")
    p.add_argument("--years", type=int, nargs="+", default=list(DEMO_YEARS))
    p.add_argument("--practices", type=int, default=DEMO_PRACTICES)
    p.add_argument("--seed", type=int, default=DEMO_SEED)

    p = command("bench", cmd_bench, "the national-scale benchmark: time every stage from delivery to "
                "published index on one v3 period")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of national volume (default 1.0)")
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--report-sample", type=int, default=200, help="practices to render reports for (default 200)")
    p.add_argument("--output", default=None, help="JSON file for the figures (default DIR/bench/bench-<scale>.json)")
    p.add_argument("--no-dagster", action="store_true",
                   help="skip the second part: the period through the Dagster jobs, with each run's fixed costs")

    p = command("ui", cmd_ui, "start the Dagster UI (dagster dev) on this data directory")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)

    p = command("portal", cmd_portal, "the practice portal: serve it, and the operators' tasks "
                "(accounts, managers, grants, audit log)")
    portal_sub = p.add_subparsers(dest="portal_command", required=True, metavar="SUBCOMMAND")

    def portal_command(name: str, help_text: str) -> argparse.ArgumentParser:
        q = portal_sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--data-dir", default=argparse.SUPPRESS,
                       help="data directory (default: $SPIEGEL_DATA_DIR, else ./data)")
        return q

    q = portal_command("serve", "apply the portal's migrations and serve it with gunicorn")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=int, default=8000)
    q.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    q = portal_command("add-account", "create an account with a verified e-mail address; the password is "
                       "read from standard input")
    q.add_argument("--email", required=True)
    q.add_argument("--name", default="")
    q = portal_command("appoint-manager", "make an account an authorisation manager of a practice "
                       "(audited as done by an operator)")
    q.add_argument("--agb", required=True, help="the practice's AGB code (8 digits)")
    q.add_argument("--email", required=True)
    q = portal_command("grant", "give an account access to a practice as if a manager approved it "
                       "(audited as done by an operator)")
    q.add_argument("--agb", required=True, help="the practice's AGB code (8 digits)")
    q.add_argument("--email", required=True)
    q = portal_command("audit", "print the portal's audit log, oldest first")
    q.add_argument("--agb", default=None, help="only the lines about this practice")
    return parser


def _quiet_optional_imports() -> None:
    """Great Expectations imports pyspark (installed for SPIEGEL_ENGINE=spark) to see
    whether it can use it, and pyspark then warns that it prefers pandas < 3: noise in
    every command's output about a library the command does not use."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark(\..*)?$")


def main(argv: list[str] | None = None) -> int:
    _quiet_optional_imports()
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
