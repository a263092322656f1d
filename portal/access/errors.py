"""The answer to an unexpected error (``handler500`` in portal/urls.py; ASVS 7.4.1).

Django's own handler answers "Server Error (500)" and nothing else: safe, but the visitor has
nothing to quote when asking support what went wrong. This one answers the same 500 with a
generic message in the portal's Dutch and a short random reference, and logs that reference
with the exception and its traceback (logger ``portal.errors``, in the server log beside
Django's own ``django.request`` record), so support finds the error from what the visitor
quotes. The page shows nothing of the error itself.

The page does not use the portal's layout: ``base.html`` asks the database about the account
(its insurer role), and the database may be what failed.
"""

from __future__ import annotations

import logging
import secrets
import sys

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader

log = logging.getLogger("portal.errors")


def new_reference() -> str:
    """Eight hexadecimal characters: short enough to read out, random so it names one error."""
    return secrets.token_hex(4)


def server_error(request: HttpRequest) -> HttpResponseServerError:
    """handler500: called by Django inside its ``except`` block, so the exception is at hand."""
    reference = new_reference()
    log.error("server error, reference %s (%s request)", reference, request.method, exc_info=sys.exc_info())
    return HttpResponseServerError(loader.render_to_string("500.html", {"reference": reference}))
