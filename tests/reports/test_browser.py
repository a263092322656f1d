"""A silent Chromium never hangs a read: each call times out, the browser is restarted
once and the document retried, then a clear error. Tried with a fake browser that
speaks just enough of the DevTools pipe protocol."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestration.runs.stale_runs import process_started_at
from reports.browser import BrowserUnresponsive, Chromium

FAKE = textwrap.dedent("""\
    #!{python}
    import base64, json, os, sys, time
    from pathlib import Path
    state = Path({state!r})
    mode = (state / "mode").read_text().strip()
    n = len(list(state.glob("pid-*")))
    (state / f"pid-{{n}}").write_text(str(os.getpid()))
    if mode == "silent":
        time.sleep(3600)
    buffer = b""
    def send(obj):
        os.write(4, json.dumps(obj).encode() + b"\\0")
    while True:
        chunk = os.read(3, 65536)
        if not chunk:
            sys.exit(0)
        buffer += chunk
        while b"\\0" in buffer:
            raw, buffer = buffer.split(b"\\0", 1)
            msg = json.loads(raw)
            method, result = msg["method"], {{}}
            if method == "Target.createTarget":
                result = {{"targetId": "t1"}}
            elif method == "Target.attachToTarget":
                result = {{"sessionId": "s1"}}
            elif method == "Page.getFrameTree":
                result = {{"frameTree": {{"frame": {{"id": "f1"}}}}}}
            elif method == "Page.printToPDF":
                if mode == "hang-first-print" and n == 0:
                    time.sleep(3600)          # the first browser goes silent in the middle of a print
                result = {{"data": base64.b64encode(b"%PDF-fake " + str(n).encode()).decode()}}
            send({{"id": msg["id"], "result": result}})
            if method in ("Page.navigate", "Page.setDocumentContent"):
                send({{"method": "Page.loadEventFired", "params": {{}}, "sessionId": "s1"}})
            if method == "Browser.close":
                sys.exit(0)
""")


@pytest.fixture
def fake_chromium(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    binary = tmp_path / "fake-chromium"
    binary.write_text(FAKE.format(python=sys.executable, state=str(state)))
    binary.chmod(0o755)

    def make(mode: str) -> tuple[str, Path]:
        (state / "mode").write_text(mode)
        return str(binary), state

    return make


def _pids(state: Path) -> list[int]:
    return [int(p.read_text()) for p in sorted(state.glob("pid-*"))]


def test_a_browser_that_goes_silent_mid_print_is_restarted_once_and_the_pdf_printed(fake_chromium, tmp_path):
    binary, state = fake_chromium("hang-first-print")
    target = tmp_path / "out.pdf"
    started = time.monotonic()
    with Chromium(binary, timeout=1.5) as browser:
        browser.print_pdf((tmp_path / "page.html").as_uri(), target)
        assert browser.restarts == 1
        first, second = _pids(state)
        assert process_started_at(first) is None  # the silent one was killed
        assert process_started_at(second) is not None
    assert target.read_bytes() == b"%PDF-fake 1"  # printed by the second browser
    assert time.monotonic() - started < 20
    assert process_started_at(second) is None


def test_a_browser_that_never_answers_fails_with_a_clear_error_in_bounded_time(fake_chromium):
    binary, state = fake_chromium("silent")
    started = time.monotonic()
    with pytest.raises(BrowserUnresponsive, match=r"did not answer within 1 s, twice \(restarted once\)"):
        Chromium(binary, timeout=1)
    assert time.monotonic() - started < 15
    pids = _pids(state)
    assert len(pids) == 2 and all(process_started_at(pid) is None for pid in pids)


def test_the_real_chromium_still_prints(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Spiegel</p></body></html>", encoding="utf-8")
    with Chromium(timeout=60) as browser:
        browser.print_pdf(page.as_uri(), tmp_path / "page.pdf")
        assert browser.restarts == 0
    assert (tmp_path / "page.pdf").read_bytes().startswith(b"%PDF")
    assert os.path.getsize(tmp_path / "page.pdf") > 500


def test_a_browser_that_goes_silent_while_printing_a_written_document_is_restarted_once(fake_chromium, tmp_path):
    binary, state = fake_chromium("hang-first-print")
    with Chromium(binary, timeout=1.5) as browser:
        browser.print_html("<p>een</p>", (tmp_path / "base.html").as_uri(), tmp_path / "one.pdf")
        browser.print_html("<p>twee</p>", (tmp_path / "base.html").as_uri(), tmp_path / "two.pdf")
        assert browser.restarts == 1
    assert (tmp_path / "one.pdf").read_bytes() == b"%PDF-fake 1"
    assert (tmp_path / "two.pdf").read_bytes() == b"%PDF-fake 1"


def test_documents_written_into_one_page_print_with_their_own_text_and_images(tmp_path):
    """print_html reuses one page: each PDF has its own document's words (nothing of the
    one before) and the file:// image it names."""
    base = tmp_path / "base.html"
    base.write_text("<!doctype html><title>base</title>", encoding="utf-8")
    picture = tmp_path / "picture.html"
    picture.write_text("<body style='margin:0;background:#c03'></body>", encoding="utf-8")
    with Chromium(timeout=60) as browser:
        (tmp_path / "picture.jpg").write_bytes(browser.screenshot(picture.as_uri(), 120, 80))
        for word in ("Eerste", "Tweede"):
            html = (
                f"<html><body><h1>{word} rapport</h1>"
                f"<img src='{(tmp_path / 'picture.jpg').as_uri()}' width='120' height='80'></body></html>"
            )
            browser.print_html(html, base.as_uri(), tmp_path / f"{word}.pdf")
        assert browser.restarts == 0
    for word, other in (("Eerste", "Tweede"), ("Tweede", "Eerste")):
        pdf = tmp_path / f"{word}.pdf"
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert f"{word} rapport" in text and other not in text
        images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert len(images.strip().splitlines()) == 3  # two header lines and the one image


def test_a_print_only_browser_refuses_screenshots_with_a_clear_error(tmp_path):
    from reports.browser import BrowserError

    page = tmp_path / "page.html"
    page.write_text("<p>Spiegel</p>", encoding="utf-8")
    with Chromium(timeout=30, print_only=True) as browser:
        with pytest.raises(BrowserError, match="print_only Chromium cannot take screenshots"):
            browser.screenshot(page.as_uri(), 100, 100)
        browser.print_html("<p>Spiegel</p>", page.as_uri(), tmp_path / "page.pdf")
    assert (tmp_path / "page.pdf").read_bytes().startswith(b"%PDF")
