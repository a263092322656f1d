"""gunicorn's access log without secrets in the URLs it writes (``portal/logsafe.py``):
``spiegel portal serve`` runs gunicorn with ``--logger-class`` naming this class."""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.logsafe import redact

URL_ATOMS = ("r", "U", "q", "f")  # request line, path, query string, referer


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
