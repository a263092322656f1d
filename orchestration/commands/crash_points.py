"""Every crash point of the platform, enumerated from the jobs themselves (core/crashpoints.py).

For each job Dagster loads (``runs/loaded.dagster_location``, ``orchestration/definitions.py``: the jobs the CLI, the
UI, the sensors and the schedule run), each step of its execution plan has two boundaries,
``step:<job>:<step>:before`` and ``...:after``; a step whose op declares stages
(``crashpoints.STAGES_TAG``: publishing) adds them in between. The portal's set-up
(``spiegel portal serve``: migrations, static files) adds its own stages. Nothing here is
a list kept by hand, so a new job, step or stage is a new crash point, and the kill test
(tests/end_to_end/test_kill_every_step.py) kills the process at it.

    python -m orchestration.commands.crash_points     # one point a line, then the count
"""

from __future__ import annotations

from orchestration.core.crashpoints import AFTER, BEFORE, STAGES_TAG, stage_point, step_point


def job_crash_points() -> dict[str, list[str]]:
    """job name -> its crash points in the order a run passes them (the implicit asset job
    of the UI's "Materialize" runs the same steps and is left out)."""
    # deferred: the definitions load Dagster, dagster-dbt and the dbt manifest (seconds)
    from dagster._core.execution.api import create_execution_plan

    from orchestration.runs.loaded import dagster_location

    defs = dagster_location()
    points: dict[str, list[str]] = {}
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):
            continue
        points[job.name] = []
        for step in create_execution_plan(job).get_steps_to_execute_in_topo_order():
            stages = job.get_node(step.node_handle).tags.get(STAGES_TAG, "").split()
            points[job.name] += [step_point(job.name, step.key, BEFORE), *stages, step_point(job.name, step.key, AFTER)]
    return points


def portal_crash_points() -> list[str]:
    """The stages of the portal's set-up, in order (``portal/operations.py``)."""
    from portal.operations import SETUP_STAGES

    return [stage_point("portal", stage) for stage in SETUP_STAGES]


def all_crash_points() -> list[str]:
    """Every step boundary and stage, each once, in a run's order, job after job."""
    seen: dict[str, None] = {}
    for points in job_crash_points().values():
        seen.update(dict.fromkeys(points))
    seen.update(dict.fromkeys(portal_crash_points()))
    return list(seen)


def main() -> int:
    points = all_crash_points()
    for point in points:
        print(point)
    print(f"{len(points)} crash points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
