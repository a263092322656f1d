"""The harness the portal's tests talk through (tests/support/served_client.py): every request
crosses a socket to the portal's WSGI application, the portal's own checks (CSRF, hosts) are
not skipped, and what the test reads is what came over the wire."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.support.portal_world import PASSWORD, audit, client_for, make_account
from tests.support.served_client import CALLER_HEADER, PortalServer, ServedClient

pytestmark = pytest.mark.django_db
TESTS = Path(__file__).resolve().parent.parent


def test_every_request_crosses_the_socket_and_none_goes_through_djangos_in_process_handler(monkeypatch):
    from django.test.client import ClientHandler

    def in_process(*args, **kwargs):
        raise AssertionError("a request went through Django's in-process ClientHandler")

    monkeypatch.setattr(ClientHandler, "__call__", in_process)
    server = PortalServer.running()
    before = server.httpd.requests_answered
    client = ServedClient()
    assert client.get("/").status_code == 200
    assert client.get("/kalender/").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    assert server.httpd.requests_answered == before + 3
    # and the port is a real listening socket that answers a plain HTTP/1.0 request
    with server.sharing_connections(), socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(b"GET /kalender/ HTTP/1.0\r\nHost: testserver\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0]
    assert b"Publicatiekalender" in answer


def test_the_portal_enforces_csrf_over_the_wire_and_a_form_with_the_pages_token_passes():
    make_account("csrf@a.nl")
    strict = ServedClient(enforce_csrf_checks=True)
    refused = strict.post("/accounts/login/", {"login": "csrf@a.nl", "password": PASSWORD})
    assert refused.status_code == 403
    assert [line.subject for line in audit("csrf_failure")] == ["/accounts/login/"]
    page = strict.get("/accounts/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    logged_in = strict.post(
        "/accounts/login/", {"login": "csrf@a.nl", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert logged_in.status_code == 302
    # the default client sends the cookie and header a form's page would
    assert ServedClient().post("/accounts/login/", {"login": "csrf@a.nl", "password": PASSWORD}).status_code == 302


def test_an_unknown_host_is_refused_by_the_portal_itself():
    assert ServedClient().get("/", HTTP_HOST="spiegel.evil.example").status_code == 400
    assert ServedClient().get("/", HTTP_HOST="testserver").status_code == 200


def test_the_callers_address_reaches_the_portal_and_the_harness_header_does_not():
    user = make_account("adres@a.nl")
    client = client_for(user, REMOTE_ADDR="198.51.100.7")
    assert client.get("/api/v1/periods/", HTTP_ACCEPT="application/json").status_code == 200
    (line,) = audit("api_call")
    assert line.ip == "198.51.100.7"
    seen = client.get("/api/v1/periods/", HTTP_ACCEPT="application/json")
    assert CALLER_HEADER not in seen.headers and "X-Spiegel-Test-Streaming" not in seen.headers


def test_headers_and_cookies_are_the_ones_sent_over_the_wire():
    response = ServedClient().get("/accounts/login/")
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in response.headers and response["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in response.headers  # the harness server's own banner is not the portal's
    assert "csrftoken" in response.cookies and response.cookies["csrftoken"]["samesite"] == "Lax"


def test_no_portal_test_uses_djangos_in_process_client():
    """New tests go over HTTP too: Django's own ``Client`` is not imported by any of them."""
    in_process = re.compile(r"from django\.test(\.client)? import [^\n]*\b(Client|AsyncClient)\b")
    offenders = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "served_client.py" and in_process.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
