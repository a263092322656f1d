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
