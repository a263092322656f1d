"""Service mode and four eyes: the two switches of the release by proven operators.

- ``SPIEGEL_SERVICE_MODE=1`` (set by ``spiegel serve``): the platform serves others, so a
  sign-off and a publish need an authenticated operator (docs/release-four-eyes.md): a
  personal token on the command line, or the portal's release page (a signed ticket). A
  typed ``--by`` name is refused.
- ``SPIEGEL_FOUR_EYES``: the publisher must be another operator than the one who signed
  the period off. On by default in service mode, off otherwise; an explicit ``0`` or ``1``
  wins either way.

Both are read at each call (not at import), so a test or a process can change them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SERVICE_MODE_ENV = "SPIEGEL_SERVICE_MODE"
FOUR_EYES_ENV = "SPIEGEL_FOUR_EYES"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be 0 or 1, got {value!r}")


def service_mode() -> bool:
    """True when the platform runs as a service (``SPIEGEL_SERVICE_MODE=1``)."""
    return _flag(SERVICE_MODE_ENV, False)


def four_eyes() -> bool:
    """True when the publisher must differ from the operator who signed off."""
    return _flag(FOUR_EYES_ENV, service_mode())


# -- where the services answer ------------------------------------------------------------------
# One pair of addresses for every reader (the portal's release page, the operators' tickets,
# the alerts' links). ``spiegel serve`` sets both for its children from the ports it starts.

DAGSTER_URL_ENV = "SPIEGEL_DAGSTER_URL"
DAGSTER_URL_DEFAULT = "http://127.0.0.1:3000"
PORTAL_URL_ENV = "SPIEGEL_PORTAL_URL"
PORTAL_URL_DEFAULT = "http://127.0.0.1:8000"
_GRAPHQL = "/graphql"


def dagster_ui_url(environ: Mapping[str, str] | None = None) -> str:
    """The Dagster UI's address (``SPIEGEL_DAGSTER_URL`` of ``environ``, the process's by
    default), without a trailing slash. An address given with ``/graphql`` at its end (the
    endpoint) is taken without it."""
    env = os.environ if environ is None else environ
    url = (env.get(DAGSTER_URL_ENV) or DAGSTER_URL_DEFAULT).strip().rstrip("/")
    return url[: -len(_GRAPHQL)] if url.endswith(_GRAPHQL) else url


def dagster_graphql_url() -> str:
    """The webserver's GraphQL endpoint: the UI's address + ``/graphql``."""
    return dagster_ui_url() + _GRAPHQL


def portal_url() -> str:
    """The portal's address (``SPIEGEL_PORTAL_URL``), without a trailing slash."""
    return (os.environ.get(PORTAL_URL_ENV) or PORTAL_URL_DEFAULT).strip().rstrip("/")
