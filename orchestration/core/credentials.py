"""The services' secrets: from systemd's encrypted credentials when the unit has them.

A secret in ``/etc/spiegel/spiegel.env`` is plain text to anyone who copies the disk. systemd
can keep it encrypted instead (``systemd-creds encrypt``, under the host's credential key or
its TPM2) and decrypt it only into the running unit's private, unswappable directory,
``$CREDENTIALS_DIRECTORY`` (docs/service.md, "Secrets"). The units import every credential
named ``SPIEGEL_*`` (``ImportCredential=SPIEGEL_*``); :func:`load_into_environment`, called
first thing by the ``spiegel`` command and by the portal's settings, makes each one the
environment variable of its name, so every reader (the portal's settings, the alerts' mail,
Dagster's ``env:`` storage config, the backup) takes it from there, and its child processes
get it too. A credential wins over a variable of the same name left in the environment file.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for a unit with credentials
NAME = re.compile(r"SPIEGEL_[A-Z0-9_]+\Z")


def load_into_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set ``SPIEGEL_*`` variables from the unit's credentials; the names set, sorted.

    A credential file's one trailing newline (``echo`` adds it) is not part of the secret.
    Files with other names (or not files) are left alone."""
    env = os.environ if environ is None else environ
    folder = env.get(CREDENTIALS_ENV)
    if not folder or not Path(folder).is_dir():
        return []
    loaded = []
    for path in sorted(Path(folder).iterdir()):
        if NAME.match(path.name) and path.is_file():
            text = path.read_text(encoding="utf-8")
            env[path.name] = text[:-1] if text.endswith("\n") else text
            loaded.append(path.name)
    return loaded
