"""``spiegel status``: per period the deliveries, the gate verdict with every blocking
reason, the sign-off and the published revisions (cli.md)."""

from __future__ import annotations

import argparse
import json

from orchestration.commands.common import data_dir_paths, say
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.delivery.register import register_state
from orchestration.landing.zone import scan_landing
from orchestration.release.readiness import known_periods, period_state
from orchestration.release.signoff import read_signoffs, valid_signoff


def period_status(paths: SpiegelPaths, period: str) -> dict:
    """Everything `spiegel status` shows for one period, as data."""
    # deferred: publishing loads pandas
    from orchestration.release.publish import revisions

    with connect_read(paths) as con:
        state = period_state(con, paths, period)
    by_insurer = {d["insurer"]: d for d in state.deliveries}
    valid = valid_signoff(paths, state)
    all_signoffs = read_signoffs(paths, period)
    return {
        "period": period,
        "verdict": state.verdict,
        "cancelled": state.cancelled_reason,
        "blocking_reasons": state.blocking_reasons,
        "warnings": state.warnings,
        "deliveries": [
            {
                "insurer": insurer,
                "landed": state.landed.get(insurer),
                "ingested": (by_insurer.get(insurer) or {}).get("delivery_id"),
                "status": (by_insurer.get(insurer) or {}).get("status", "missing"),
                "rows": (by_insurer.get(insurer) or {}).get("row_count"),
                "rejection_rule": (by_insurer.get(insurer) or {}).get("rejection_rule"),
            }
            for insurer in state.required
        ],
        "signoff": valid.as_dict() if valid else None,
        "void_signoffs": len([s for s in all_signoffs if valid is None or s.signoff_id != valid.signoff_id]),
        "revisions": revisions(paths, period),
    }


def cmd_status(args: argparse.Namespace) -> int:
    # deferred: the runner loads Dagster, which `spiegel --help` and a wrong call do not need
    from orchestration.runs import runner

    paths = data_dir_paths(args)
    # a run killed with its process (kill -9, power loss) would otherwise stay "started" in the UI
    dead_runs = runner.fail_dead_runs()
    if args.period:
        selected = args.period
    else:
        with connect_read(paths) as con:
            selected = known_periods(con, paths)
    statuses = [period_status(paths, p) for p in selected]
    anomalies = scan_landing(paths.landing)[1]
    # the practice register in force, judged from the landing zone (docs/register-contract.md)
    register = register_state(paths.landing)
    if args.json:
        print(
            json.dumps(
                {
                    "periods": statuses,
                    "practice_register": register.as_dict(),
                    "landing_anomalies": [{"path": str(a.path), "reason": a.reason} for a in anomalies],
                    "runs_marked_failed": dead_runs,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    for run_id in dead_runs:
        say(f"run {run_id} was still marked started but its process is gone: marked failed")
    if not statuses:
        say(f"no periods yet under {paths.data_dir} (run `spiegel generate` or land deliveries in {paths.landing})")
    for s in statuses:
        say(f"== {s['period']}: {s['verdict'].upper()}" + (" (CANCELLED)" if s["cancelled"] else ""))
        if s["cancelled"]:
            say(f"   cancelled: {s['cancelled']}")
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
            say(
                "   sign-off: none valid"
                + (f" ({s['void_signoffs']} void: deliveries changed since)" if s["void_signoffs"] else "")
            )
        say(f"   published: {', '.join(s['revisions']) or 'nothing'}")
    say(f"practice register: {register.summary()}")
    for a in anomalies:
        say(f"landing anomaly: {a.path}: {a.reason}")
    return 0
