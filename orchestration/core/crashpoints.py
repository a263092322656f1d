"""Crash points, so the crash-safety tests can kill a process at an exact moment.

``SPIEGEL_CRASH_AT=<point>`` or ``<point>:<n>`` makes the process kill itself with
SIGKILL (the same as ``kill -9``: no cleanup, no ``finally``) the first, or the n-th,
time it passes that point, after writing one line naming it to stderr. When the
process leads its process group (a test starts it with ``start_new_session=True``),
the whole group dies with it, so the dbt subprocess of a run goes too, as in a machine
or container that is killed.

Three kinds of point:

- **step boundaries** of every Dagster job, named by nobody in code:
  ``step:<job>:<step key>:before`` (the step's STEP_START is stored in the Dagster
  instance, none of its code has run) and ``step:<job>:<step key>:after`` (its
  STEP_SUCCESS is stored, the run is not finished yet). :func:`watch_step_boundaries`
  sees them in the events a run stores, in the CLI's process and in a run worker the UI
  launched alike; the code location installs it whenever ``SPIEGEL_CRASH_AT`` is set;
- **stages** of a step or a command, declared as a tuple where they run and passed with
  :func:`at_stage`: ``stage:<owner>:<stage>`` just before the stage starts (publishing,
  ``release/publish.py``; the portal's set-up, ``portal/operations.py``). A step that
  has stages says so in its op tag :data:`STAGES_TAG`, so the list below finds them;
- **named** points inside a stage: ``dbt_event``, after each event (model, seed or
  test result) of the dbt method run.

``python -m orchestration.commands.crash_points`` prints every step boundary and stage,
enumerated from the jobs' execution plans (tests/end_to_end/test_kill_every_step.py
kills the process at each). Unset (always, outside tests), a point costs one
environment lookup and the event hook is not installed.
"""

from __future__ import annotations

import functools
import os
import signal
from collections import Counter
from collections.abc import Sequence

CRASH_ENV = "SPIEGEL_CRASH_AT"
STAGES_TAG = "spiegel/stages"  # op tag: the stage points a step passes, space-separated
BEFORE, AFTER = "before", "after"
_passed: Counter[str] = Counter()
_watching = False


def _wanted() -> tuple[str, int] | None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return None
    point, _, nth = wanted.rpartition(":")
    if point and nth.isdigit():
        return point, int(nth)
    return wanted, 1


def crash_point(name: str) -> None:
    wanted = _wanted()
    if wanted is None or wanted[0] != name:
        return
    _passed[name] += 1
    if _passed[name] < wanted[1]:
        return
    os.write(2, f"crash point {name}: SIGKILL (SPIEGEL_CRASH_AT)\n".encode())
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def step_point(job: str, step_key: str, when: str) -> str:
    return f"step:{job}:{step_key}:{when}"


def stage_point(owner: str, stage: str) -> str:
    return f"stage:{owner}:{stage}"


def stages_tag(owner: str, stages: Sequence[str]) -> str:
    """The value of :data:`STAGES_TAG` for a step that passes ``owner``'s ``stages``."""
    return " ".join(stage_point(owner, stage) for stage in stages)


def at_stage(owner: str, stage: str, declared: Sequence[str]) -> None:
    """The crash point just before ``stage`` of ``owner`` starts. ``declared``: the owner's
    stages, in order; a stage not among them is a programming error (the list of crash
    points would miss it)."""
    if stage not in declared:
        raise ValueError(f"{stage!r} is not a declared stage of {owner} ({', '.join(declared)})")
    crash_point(stage_point(owner, stage))


def watch_step_boundaries() -> None:
    """Pass the step-boundary crash points of every run this process executes.

    Every event of a run goes through ``DagsterInstance.handle_new_event``, which stores
    it: in ``execute_in_process`` (the CLI's runner) and in a run worker (``dagster api
    execute_run``, ``dagster job execute``) alike. The wrapper passes the point after the
    event is stored, so a kill leaves the instance exactly as a real crash at that moment
    would. Installed once per process; only while ``SPIEGEL_CRASH_AT`` is set (tests).
    """
    global _watching
    if _watching:
        return
    from dagster import DagsterEventType, DagsterInstance

    boundary = {DagsterEventType.STEP_START: BEFORE, DagsterEventType.STEP_SUCCESS: AFTER}
    store = DagsterInstance.handle_new_event

    @functools.wraps(store)
    def handle_new_event(self, event, *args, **kwargs):
        store(self, event, *args, **kwargs)
        dagster_event = event.dagster_event
        when = boundary.get(dagster_event.event_type) if dagster_event is not None else None
        if when is not None and event.step_key:
            crash_point(step_point(event.job_name, event.step_key, when))

    DagsterInstance.handle_new_event = handle_new_event
    _watching = True
