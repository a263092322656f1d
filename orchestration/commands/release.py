"""``spiegel signoff`` and ``spiegel publish``: the data-quality sign-off and the release.

Who does it (docs/release-four-eyes.md): with ``--token`` (or ``$SPIEGEL_OPERATOR_TOKEN``)
an operator, proven by their personal portal token: an active staff account with a second
factor. The command checks the token in the portal's database, audits the request, and
hands the Dagster step a signed ticket for that operator (``release/operators.py``), which
the step redeems before it acts. Without a token the typed ``--by`` name is recorded as not
authenticated, as before; in service mode (``SPIEGEL_SERVICE_MODE=1``) that is refused.
"""

from __future__ import annotations

import argparse
import os

from orchestration.commands.common import CommandError, data_dir_paths, say
from orchestration.core.service import service_mode
from orchestration.core.settings import SpiegelPaths


def _token(args: argparse.Namespace) -> str:
    return (getattr(args, "token", None) or os.environ.get("SPIEGEL_OPERATOR_TOKEN") or "").strip()


def _step_config(paths: SpiegelPaths, args: argparse.Namespace, action: str, comment: str = "") -> dict[str, str]:
    """The run config of the sign-off or release step: a ticket for the token's operator, or
    (outside service mode) the typed name; refused here, before any run, when neither will do."""
    # deferred: the operators' token check sets Django up; only a command with a token needs it
    from orchestration.release import operators

    verb, command = operators.VERBS[action], ("signoff" if action == operators.SIGNOFF else "publish")
    token, by = _token(args), (getattr(args, "by", None) or "").strip()
    if token and by:
        raise CommandError(f"{verb} of {args.period}: give --token or --by, not both (the token names the operator)")
    if token:
        try:
            operator = operators.operator_from_token(paths, token, action=action, period=args.period)
        except operators.OperatorRefused as exc:
            raise CommandError(str(exc)) from None
        requested = "SIGNOFF_REQUESTED" if action == operators.SIGNOFF else "PUBLISH_REQUESTED"
        operators.audit(paths, requested, operator, period=args.period, detail=f"spiegel {command} --token")
        ticket = operators.issue_ticket(paths, operator, action=action, period=args.period, comment=comment)
        config = {"ticket": ticket}
        if action == operators.SIGNOFF:
            config["comment"] = comment
        return config
    if service_mode():
        raise CommandError(
            f"{verb} of {args.period} refused: service mode: an operator's personal token is needed "
            f"(--token T or $SPIEGEL_OPERATOR_TOKEN; made on the portal's page /accounts/tokens/), "
            f"or use the release page {operators.release_page_url(args.period)}"
            + ("; --by is a typed name and is not accepted" if by else "")
        )
    if action == operators.SIGNOFF and not by:
        raise CommandError(f"{verb} of {args.period}: --by NAME is needed (or --token)")
    config = {"by": by}
    if action == operators.SIGNOFF:
        config["comment"] = comment
    return config


def _run(job: str, op: str, period: str, config: dict[str, str]):
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.runs import runner

    runner.ensure_period_partition(period)
    return runner._execute(job, period, run_config={"ops": {op: {"config": config}}})


def _materialized(run_id: str) -> dict[str, object]:
    """The metadata of what run ``run_id`` materialised (its sign-off or its revision): what
    this command did, not what another operator did meanwhile."""
    import dagster as dg

    from orchestration.runs import runner

    for entry in runner.instance().all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        metadata = entry.asset_materialization.metadata
        return {key: getattr(value, "value", value) for key, value in metadata.items()}
    return {}


def cmd_signoff(args: argparse.Namespace) -> int:
    from orchestration.release.operators import SIGNOFF
    from orchestration.runs.jobs import SIGNOFF_JOB

    paths = data_dir_paths(args)
    config = _step_config(paths, args, SIGNOFF, args.comment)
    outcome = _run(SIGNOFF_JOB, "signoff", args.period, config)
    if not outcome.success:
        raise CommandError(outcome.message or f"sign-off of {args.period} failed (run {outcome.run_id})")
    done = _materialized(outcome.run_id)
    how = "authenticated account" if done.get("authenticated") else "typed name, not authenticated"
    if done.get("written") is False:
        say(
            f"{args.period}: already signed off by {done.get('signed off by')} at {done.get('at')} with this "
            f"comment ({done.get('signoff_id')}); recorded once, nothing written (run {outcome.run_id})"
        )
    else:
        say(f"{args.period}: signed off by {done.get('signed off by')} ({how}; run {outcome.run_id})")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from orchestration.release.operators import PUBLISH
    from orchestration.runs.jobs import PUBLISH_JOB

    paths = data_dir_paths(args)
    config = _step_config(paths, args, PUBLISH)
    say(f"{args.period}: publishing (tables, release.json, reports) ...")
    outcome = _run(PUBLISH_JOB, "release", args.period, config)
    if not outcome.success:
        raise CommandError(outcome.message or f"publish of {args.period} failed (run {outcome.run_id})")
    done = _materialized(outcome.run_id)
    if done.get("created") is False:
        say(f"{args.period}: already published as {done.get('revision')} with this sign-off; nothing to do")
    else:
        say(f"{args.period}: published {done.get('path')}")
    return 0
