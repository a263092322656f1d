"""Django's test client, but every request goes over HTTP to the portal served on a socket.

Django's own ``Client`` hands the WSGI environ straight to the middleware chain in the test's
thread and lets every request skip CSRF. :class:`ServedClient` keeps the client's interface
(cookies, ``force_login``, ``session``, ``follow``, ``response.context``, re-raised view
errors) so the portal's tests read as before, but its handler writes the request to an HTTP
socket of :class:`PortalServer`, which serves the portal's WSGI handler (what
``portal.wsgi.application`` is: Django's ``WSGIHandler`` with the portal's settings and
middleware, as gunicorn runs it) in a thread of the test process, and reads the answer back
from the wire.

Why a thread of the test process and not gunicorn in a child process: the tests change
settings per test (``settings.RELEASES_DIR``, throttles, mail) and work inside the test's
database transaction. A server thread reads the same settings object and is handed the
test thread's database connection, as Django's ``LiveServerTestCase`` does, so each test
keeps its own world. Requests are served one at a time, and the client waits until the
server has closed the request (``request_finished`` included) before the test goes on, so
the two threads never use that connection at once.

What the wire changes, on purpose:

- CSRF is enforced by the portal. A client made with ``enforce_csrf_checks=False`` (the
  default) behaves like a browser with a form: it sends the CSRF cookie and the same value
  in the ``X-CSRFToken`` header (making up the cookie, as the double-submit scheme allows,
  if the portal has not set one yet). With ``enforce_csrf_checks=True`` it sends neither.
- The caller's address: a request whose ``REMOTE_ADDR`` is not the loopback address carries
  it in the harness header :data:`CALLER_HEADER`, and the harness server (not the portal)
  puts it in ``REMOTE_ADDR``, as the socket would show a caller at that address.
- The harness server's own ``Date``, ``Connection`` and ``Server`` headers are dropped from
  the response the test sees; every other header is the portal's, as sent.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from urllib.parse import quote

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client

CALLER_HEADER = "X-Spiegel-Test-Caller"
STREAMING_HEADER = "X-Spiegel-Test-Streaming"  # the portal answered with a streaming (file) response
LOOPBACK = "127.0.0.1"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")  # no CSRF token needed (RFC 9110 "safe")
TIMEOUT_SECONDS = 120
_HARNESS_HEADERS = {"date", "connection", STREAMING_HEADER.lower()}


class _PortalApplication(WSGIHandler):
    """``portal.wsgi.application``'s handler, marking streaming answers for the client: over
    the wire a file download and a page look alike, and the tests read a download as
    ``streaming_content`` as they would in-process."""

    def get_response(self, request):
        response = super().get_response(request)
        if response.streaming:
            response.headers[STREAMING_HEADER] = "1"
        return response


class _HarnessRequestHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        """Quiet: the tests read the portal's own logs, not the harness's access lines."""

    def get_environ(self):
        environ = super().get_environ()
        caller = environ.pop("HTTP_" + CALLER_HEADER.upper().replace("-", "_"), None)
        if caller:
            environ["REMOTE_ADDR"] = caller
        return environ


class _OneAtATimeServer(WSGIServer):
    """Django's development WSGI server, one request at a time. ``served`` is held from the
    moment a request is accepted until its connection is closed, so a client that reads the
    answer and then takes the lock knows the portal is done with the shared connection."""

    def __init__(self, *args, **kwargs):
        self.served = threading.Lock()
        self.connections_of_test: dict = {}
        self.requests_answered = 0  # connections accepted and answered, for the harness's own test
        super().__init__(*args, **kwargs)

    def finish_request(self, request, client_address):
        with self.served:
            for alias, connection in self.connections_of_test.items():
                connections[alias] = connection
            # as Django's test client does: closing "old" connections after a request would
            # close the test's own connection, inside the test's transaction
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
            try:
                super().finish_request(request, client_address)
                self.requests_answered += 1
            finally:
                request_started.connect(close_old_connections)
                request_finished.connect(close_old_connections)


class PortalServer:
    """The portal's WSGI application on a free port of 127.0.0.1, in a daemon thread."""

    _instance: PortalServer | None = None
    _starting = threading.Lock()

    def __init__(self) -> None:
        self.httpd = _OneAtATimeServer((LOOPBACK, 0), _HarnessRequestHandler, allow_reuse_address=False)
        self.httpd.set_app(_PortalApplication())
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="served-portal", daemon=True)
        self.thread.start()

    @classmethod
    def running(cls) -> PortalServer:
        """The one server of this test process, started on first use."""
        with cls._starting:
            if cls._instance is None:
                cls._instance = PortalServer()
            return cls._instance

    @contextmanager
    def sharing_connections(self) -> Iterator[None]:
        """While the block runs, the server thread uses this (the test's) thread's database
        connections, as Django's ``LiveServerThread`` is handed them."""
        shared = {alias: connections[alias] for alias in connections}
        for connection in shared.values():
            connection.inc_thread_sharing()
        self.httpd.connections_of_test = shared
        try:
            yield
            # the server has closed the last request, signals included
            if not self.httpd.served.acquire(timeout=TIMEOUT_SECONDS):
                raise TimeoutError(f"the served portal did not finish a request within {TIMEOUT_SECONDS} s")
            self.httpd.served.release()
        finally:
            self.httpd.connections_of_test = {}
            for connection in shared.values():
                connection.dec_thread_sharing()

    def answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        """Send one request over a new connection; return (status, reason, headers, body)
        once the portal has finished with it."""
        with self.sharing_connections():
            wire = http.client.HTTPConnection(LOOPBACK, self.port, timeout=TIMEOUT_SECONDS)
            try:
                wire.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    wire.putheader(name, value)
                wire.endheaders(body or None)
                reply = wire.getresponse()
                content = reply.read()
                return reply.status, reply.reason, reply.getheaders(), content
            finally:
                wire.close()


def request_target(environ: dict) -> str:
    """The request line's target: ``PATH_INFO`` holds the path's bytes as Latin-1 (PEP 3333),
    so they are percent-encoded again, and the query string goes as the client built it."""
    path = quote(environ.get("PATH_INFO", "/").encode("iso-8859-1"), safe="/:@!$&'()*+,;=~")
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def request_headers(environ: dict) -> list[tuple[str, str]]:
    """The HTTP headers a WSGI environ stands for, the Host first."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "testserver")
    if not environ.get("HTTP_HOST") and str(environ.get("SERVER_PORT", "80")) not in ("80", "443"):
        host = f"{host}:{environ['SERVER_PORT']}"
    headers = [("Host", host), ("Connection", "close")]
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_HOST", "HTTP_CONNECTION"):
            if key == "HTTP_COOKIE" and not value:
                continue
            headers.append((key[5:].replace("_", "-").title(), str(value)))
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    if environ.get("REMOTE_ADDR", LOOPBACK) != LOOPBACK:
        headers.append((CALLER_HEADER, environ["REMOTE_ADDR"]))
    return headers


def response_from_wire(status: int, reason: str, headers: list[tuple[str, str]], content: bytes):
    """A Django response object holding what came over the wire, for the client's bookkeeping
    (cookies, redirects, ``assertContains``)."""
    streaming = any(name.lower() == STREAMING_HEADER.lower() for name, _ in headers)
    if streaming:
        response = StreamingHttpResponse([content], status=status, reason=reason)
    else:
        response = HttpResponse(content, status=status, reason=reason)
    for name in list(response.headers):
        del response.headers[name]
    response.cookies = SimpleCookie()
    for name, value in headers:
        lowered = name.lower()
        if lowered in _HARNESS_HEADERS or (lowered == "server" and value.startswith("WSGIServer/")):
            continue
        if lowered == "set-cookie":
            response.cookies.load(value)
        elif name in response.headers:
            response.headers[name] = f"{response.headers[name]}, {value}"
        else:
            response.headers[name] = value
    if 300 <= status < 400 and "Location" in response.headers:
        response.url = response.headers["Location"]
    return response


class _OverHttpHandler:
    """Stands in for Django's ``ClientHandler``: same call, but through the served portal."""

    def __call__(self, environ: dict):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = request_headers(environ)
        if "CONTENT_LENGTH" in environ:
            headers.append(("Content-Length", str(length)))
        status, reason, reply_headers, content = PortalServer.running().answer(
            environ["REQUEST_METHOD"], request_target(environ), headers, body
        )
        response = response_from_wire(status, reason, reply_headers, content)
        response.wsgi_request = WSGIRequest(environ)  # the client's copy; the portal had its own
        return response


class ServedClient(Client):
    """``django.test.Client`` whose requests go over HTTP to :class:`PortalServer`."""

    def __init__(self, enforce_csrf_checks: bool = False, raise_request_exception: bool = True, **defaults) -> None:
        super().__init__(enforce_csrf_checks, raise_request_exception, **defaults)
        self.enforce_csrf_checks = enforce_csrf_checks
        self.handler = _OverHttpHandler()

    def request(self, **request):
        if not self.enforce_csrf_checks and request.get("REQUEST_METHOD", "GET") not in SAFE_METHODS:
            self._send_csrf_token(request)
        return super().request(**request)

    def _send_csrf_token(self, request: dict) -> None:
        """The CSRF cookie and header a page's script or form would send: the portal's cookie,
        or one made up (any well-formed secret will do in the double-submit scheme) before the
        client writes its cookies into the request."""
        from django.conf import settings
        from django.middleware.csrf import _get_new_csrf_string

        header, name = settings.CSRF_HEADER_NAME, settings.CSRF_COOKIE_NAME
        if header in request or header in self.defaults:
            return
        if name not in self.cookies or not self.cookies[name].value:
            self.cookies[name] = _get_new_csrf_string()
        request[header] = self.cookies[name].value
