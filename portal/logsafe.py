"""What the logs may say about a request: its URL without the secrets a URL can carry.

The portal never puts a secret in a URL of its own, but two come in by link and a client may
put one in a URL by mistake: the key of a password reset or of an e-mail confirmation
(allauth's ``/accounts/password/reset/key/<key>/``, ``/accounts/confirm-email/<key>/``, from
the mails) and a token as ``?token=...`` or anywhere else (refused by the API, but the request line
is still logged). ``redact`` replaces them with ``[redacted]``; the gunicorn access log
(``portal/gunicorn_logging.py``) and the audit log's API lines go through it. Django-free, so
that gunicorn's master process can import it.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
SECRET_PARAMETERS = (
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "secret",
    "code",
    "sessionid",
    "csrfmiddlewaretoken",
    "authorization",
    "bearer",
)
# a personal API token wherever it stands (portal/access/tokens.py makes them: TOKEN_PREFIX,
# 8 hex digits, the secret)
TOKEN_PREFIX = "spg_"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9a-f]{8}_[A-Za-z0-9_-]+")
_PARAMETER = re.compile(r"(?i)(^|[?&;])((?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"]*")
_KEY_PATH = re.compile(r"(/accounts/(?:password/reset/key|confirm-email)/)[^/?#\s\"]+")


def redact(text: str) -> str:
    """``text`` (a URL, a query string or a request line) without secret keys and parameters."""
    text = _KEY_PATH.sub(r"\1" + REDACTED, text)
    text = _TOKEN.sub(REDACTED, text)
    return _PARAMETER.sub(r"\1\2" + REDACTED, text)
