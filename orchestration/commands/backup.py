"""``spiegel backup DEST`` and ``spiegel restore SRC --data-dir NEW`` (docs/backup.md).

Progress goes to stderr; ``backup`` prints the snapshot's folder on stdout (for scripts:
``SNAP=$(spiegel backup /backups)``). Neither command points its process at a Dagster
instance: backup only reads the data directory, and restore must not create the target
before it has verified the snapshot.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from orchestration.commands.common import CommandError
from orchestration.core.locks import LockTimeout
from orchestration.core.settings import SpiegelPaths


def _progress(command: str):
    def say(message: str) -> None:
        print(f"{command}: {message}", file=sys.stderr, flush=True)

    return say


def cmd_backup(args: argparse.Namespace) -> int:
    # deferred: the backup loads DuckDB and, for the code version, the publishing code
    from orchestration.core.backup import BackupError, Databases
    from orchestration.release import backup
    from orchestration.runs.instance import InstanceSettingsError, database_url

    paths = SpiegelPaths.from_env(args.data_dir)
    say = _progress("backup")
    try:
        database_url(os.environ)  # refuses a Dagster URL the instance could not use either
        result = backup.backup(
            paths,
            Path(args.dest),
            databases=Databases.of(paths),
            with_landing=args.with_landing,
            lock_timeout=args.lock_timeout,
            progress=say,
        )
    except (BackupError, LockTimeout, InstanceSettingsError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{exc.filename or ''}: {exc.strerror or exc}") from None
    for note in result.notes:
        say(f"note: {note}")
    print(result.path, flush=True)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from orchestration.core.backup import BackupError, Databases, find_snapshot, verify_snapshot
    from orchestration.release import backup

    say = _progress("restore")
    try:
        if args.verify_only:
            snapshot = find_snapshot(Path(args.src), say)
            verify_snapshot(snapshot, say)
            say(f"{snapshot} is complete and every checksum matches")
            return 0
        target = SpiegelPaths.from_env(args.data_dir)
        result = backup.restore(
            Path(args.src),
            target,
            databases=Databases.of(target),
            landing_from=Path(args.landing_from) if args.landing_from else None,
            progress=say,
        )
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{exc.filename or ''}: {exc.strerror or exc}") from None
    for note in result.notes:
        say(f"note: {note}")
    say(f"done: check it with `spiegel status --data-dir {result.data_dir}`")
    return 0
