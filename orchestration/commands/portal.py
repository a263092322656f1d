"""``spiegel portal ...``: the practice portal's operator tasks (portal.md)."""

from __future__ import annotations

import argparse
import sys

from orchestration.commands.common import CommandError, say
from orchestration.core.settings import SpiegelPaths


def cmd_portal(args: argparse.Namespace) -> int:
    """``spiegel portal SUBCOMMAND``: the practice portal's operator tasks (portal.md)."""
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from portal import operations

    paths = SpiegelPaths.from_env(args.data_dir)
    try:
        if args.portal_command == "serve":
            return operations.serve(paths.data_dir, host=args.host, port=args.port, workers=args.workers, progress=say)
        if args.portal_command == "add-account":
            password = sys.stdin.readline().rstrip("\n")
            say(operations.add_account(paths.data_dir, email=args.email, name=args.name, password=password))
        elif args.portal_command == "appoint-manager":
            say(operations.appoint_manager(paths.data_dir, agb=args.agb, email=args.email))
        elif args.portal_command == "grant":
            say(operations.grant(paths.data_dir, agb=args.agb, email=args.email))
        elif args.portal_command == "appoint-insurer-user":
            say(operations.appoint_insurer_user(paths.data_dir, insurer=args.insurer, email=args.email))
        elif args.portal_command == "reset-second-factor":
            say(
                operations.reset_second_factor(
                    paths.data_dir, email=args.email, checked_by=args.checked_by, evidence=args.evidence
                )
            )
        elif args.portal_command == "appoint-operator":
            say(operations.appoint_operator(paths.data_dir, email=args.email, remove=args.remove))
        elif args.portal_command == "create-token":
            made = operations.create_token(paths.data_dir, email=args.email, days=args.days, name=args.name)
            say(made.secret)  # stdout holds the token alone, for TOKEN=$(spiegel portal create-token ...)
            print(made.note, file=sys.stderr, flush=True)
        elif args.portal_command == "audit":
            for line in operations.audit_lines(paths.data_dir, agb=args.agb):
                say(line)
        elif args.portal_command == "purge-expired":
            for line in operations.purge_expired(paths.data_dir):
                say(line)
    except operations.PortalCommandError as exc:
        raise CommandError(str(exc)) from exc
    return 0
