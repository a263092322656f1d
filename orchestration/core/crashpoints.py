"""Named crash points, so the crash-safety tests can kill a run at an exact moment.

``SPIEGEL_CRASH_AT=<point>`` or ``<point>:<n>`` makes the process kill itself with
SIGKILL (the same as ``kill -9``: no cleanup, no ``finally``) the first, or the n-th,
time it passes :func:`crash_point` with that name. When the process leads its process
group (a test starts it with ``start_new_session=True``), the whole group dies with it,
so the dbt subprocess of a run goes too, as in a machine or container that is killed.

The points (tests/end_to_end/test_crash_safety.py uses them):

- ``dbt_event``: after each event (model, seed or test result) of the dbt method run;
- ``publish_tables_written``: the revision's CSVs and release.json are in the hidden
  temporary folder, the reports are not rendered yet;
- ``publish_renamed``: the revision has just been renamed into place.

Unset (always, outside tests), a point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_ENV = "SPIEGEL_CRASH_AT"
_passed: Counter[str] = Counter()


def crash_point(name: str) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passed[name] += 1
    if _passed[name] < int(nth or 1):
        return
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
