"""Launching the platform's sign-off and release jobs through the Dagster webserver's GraphQL.

The portal writes nothing into the warehouse or the sign-off log itself (portal.md): it asks
Dagster to run the same job the CLI and the launchpad run (``sign_off``, ``publish_release``),
for the period's partition, with the operator's ticket in the run config. The run is then
Dagster's: its queue, its log, its materialisation (who signed, who published) in the UI.

``SPIEGEL_DAGSTER_URL`` (default ``http://127.0.0.1:3000``) is the webserver, its
``/graphql`` the endpoint;
``SPIEGEL_DAGSTER_LOCATION`` (default ``spiegel``, as in workspace.yaml) the code location.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from orchestration.core.service import dagster_graphql_url

LOCATION_ENV = "SPIEGEL_DAGSTER_LOCATION"
LOCATION_DEFAULT = "spiegel"
REPOSITORY = "__repository__"  # the one repository of a Definitions object
TIMEOUT_SECONDS = 20

LAUNCH_RUN = """
mutation SpiegelLaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on PresetNotFoundError { message }
    ... on NoModeProvidedError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
  }
}
"""


class LaunchFailed(RuntimeError):
    """Dagster did not take the run (unreachable, or it said why); the message is one line."""


def location() -> str:
    return os.environ.get(LOCATION_ENV) or LOCATION_DEFAULT


def execution_params(job: str, period: str, op: str, config: dict[str, Any], operator: str) -> dict[str, Any]:
    return {
        "selector": {"repositoryLocationName": location(), "repositoryName": REPOSITORY, "jobName": job},
        "runConfigData": {"ops": {op: {"config": config}}},
        "executionMetadata": {
            "tags": [
                {"key": "dagster/partition", "value": period},
                {"key": "spiegel/trigger", "value": "portal"},
                {"key": "spiegel/operator", "value": operator},
            ]
        },
    }


def launch_run(job: str, period: str, op: str, config: dict[str, Any], operator: str) -> str:
    """Launch ``job`` for ``period``; the run's id."""
    body = json.dumps(
        {"query": LAUNCH_RUN, "variables": {"executionParams": execution_params(job, period, op, config, operator)}}
    ).encode("utf-8")
    request = urllib.request.Request(
        dagster_graphql_url(), data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LaunchFailed(f"Dagster is not reachable at {dagster_graphql_url()}: {exc}") from None
    if answer.get("errors"):
        raise LaunchFailed("Dagster: " + "; ".join(str(e.get("message", e)) for e in answer["errors"])[:400])
    result = (answer.get("data") or {}).get("launchRun") or {}
    if result.get("__typename") == "LaunchRunSuccess":
        return str(result["run"]["runId"])
    details = result.get("message") or "; ".join(e.get("message", "") for e in result.get("errors", []))
    raise LaunchFailed(f"Dagster: {result.get('__typename', 'no answer')}: {details}"[:400])
