"""One long-lived headless Chromium, driven over the DevTools protocol on a pipe.

Why this and not kaleido or playwright: kaleido starts (or talks to) a browser per
*image*, which costs 0.4-2.3 s a chart here (docs: shared/spec/pitfalls.md); at
national scale that is hours. Instead each PDF worker starts **one** Chromium for its
whole share of the practices and prints every report's print page with
``Page.printToPDF``. The charts in the print page are inline SVG made by our own
templates, so no browser renders a chart on its own.

``--remote-debugging-pipe`` makes Chromium speak the DevTools protocol on file
descriptors 3 (commands in) and 4 (replies and events out), one JSON message per
NUL-terminated frame. That needs nothing beyond the standard library: no websocket
client, no playwright driver, no extra download.

A silent Chromium never hangs a publish: every read waits at most ``timeout`` seconds
(``SPIEGEL_BROWSER_TIMEOUT``, default 60) for the next frame. A browser that does not
answer in time, or exits, is killed and started again once and the document is tried
again; if the new one fails too, :class:`BrowserUnresponsive` says so.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",
    "--allow-file-access-from-files",
]
# A browser that only prints needs no compositor thread: about a quarter less CPU per PDF
# (measured: 0.078 -> 0.058 s), the same pages. Screenshots need it (they never return).
PRINT_ONLY_FLAGS = ["--disable-threaded-compositing"]
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ChromiumMissing(RuntimeError):
    pass


class BrowserError(RuntimeError):
    pass


class BrowserUnresponsive(BrowserError):
    """Chromium did not answer in time, or exited: restarting it may help."""


def browser_timeout() -> float:
    """Seconds to wait for each answer of Chromium (``SPIEGEL_BROWSER_TIMEOUT``, default 60)."""
    try:
        return float(os.environ.get("SPIEGEL_BROWSER_TIMEOUT") or 60.0)
    except ValueError:
        return 60.0


def find_chromium() -> str:
    """The Chromium binary: ``SPIEGEL_CHROMIUM`` or ``BROWSER_PATH`` if set, else PATH."""
    for env in ("SPIEGEL_CHROMIUM", "BROWSER_PATH"):
        value = os.environ.get(env)
        if value and Path(value).is_file():
            return value
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing(
        "PDF reports need a headless Chromium and none was found: install Debian's `chromium` "
        "package (`apt-get install chromium`) or set SPIEGEL_CHROMIUM to a Chrome/Chromium binary; "
        "render with pdf=False to write only the HTML reports"
    )


def _as_fds_3_and_4(read_end: int, write_end: int) -> None:
    """In the child before exec: put the pipe ends on fds 3 and 4 (via high copies, so
    that neither overwrites the other); ``pass_fds=(3, 4)`` keeps them open."""
    import fcntl

    high_r = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10)
    high_w = fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
    os.dup2(high_r, 3)
    os.dup2(high_w, 4)


class Chromium:
    """A headless Chromium with one page (tab), for printing many documents in a row."""

    def __init__(self, binary: str | None = None, timeout: float | None = None, print_only: bool = False):
        self.binary = binary or find_chromium()
        self.print_only = print_only
        self.flags = [*CHROMIUM_FLAGS, *(PRINT_ONLY_FLAGS if print_only else [])]
        self.timeout = browser_timeout() if timeout is None else timeout
        self.restarts = 0
        self._profile = tempfile.mkdtemp(prefix="spiegel-chromium-")
        try:
            self._retrying(self._start)
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child must see the pipe ends as fds 3 and 4
        self._proc = subprocess.Popen(
            [self.binary, *self.flags, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
            start_new_session=True,  # its helper processes die with it when it has to be killed
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._session = None
        self._frame: str | None = None  # the page's frame while it is at _frame_url
        self._frame_url: str | None = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        # the print page has no scripts; keep it that way even if a template slips one in
        self.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=True)

    def _kill(self) -> None:
        """Kill the browser (and its helper processes) and close our pipe ends."""
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()
        for name in ("_to_browser", "_from_browser"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def _retrying(self, action, *args):
        """``action(*args)``; when Chromium does not answer (or exits), kill it, start a new
        one and try once more; a second failure is raised as :class:`BrowserUnresponsive`."""
        try:
            return action(*args)
        except BrowserUnresponsive as first:
            self._kill()
            self.restarts += 1
            try:
                self._start()
                return None if action == self._start else action(*args)
            except BrowserUnresponsive as second:
                self.close()
                raise BrowserUnresponsive(
                    f"Chromium ({self.binary}) did not answer within {self.timeout:.0f} s, twice (restarted once): "
                    f"{first}; then {second}. Retrying is safe; set SPIEGEL_BROWSER_TIMEOUT to wait longer"
                ) from second

    # -- protocol -----------------------------------------------------------------
    def _read_message(self, deadline: float, what: str = "") -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([self._from_browser], [], [], max(remaining, 0))[0] if remaining > 0 else []
            if not ready:
                raise BrowserUnresponsive(f"no answer to {what or 'a command'} in {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserUnresponsive(f"Chromium exited (code {self._proc.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError as exc:
            raise BrowserUnresponsive(f"Chromium exited (code {self._proc.poll()})") from exc
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline, method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _wait_event(self, name: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == name:
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline, name))

    # -- use ------------------------------------------------------------------------
    def load(self, url: str) -> None:
        self._frame = None  # print_html opens its base page again
        self._events.clear()
        result = self.call("Page.navigate", {"url": url}, session=True)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self._wait_event("Page.loadEventFired")

    def print_pdf(self, url: str, target: Path, footer: str | None = None) -> None:
        """Open ``url`` and print it to ``target`` as an A4 PDF (margins come from @page;
        ``footer`` is a Chromium footer template, drawn in the bottom margin). A browser
        that does not answer is restarted once."""
        self._retrying(self._print_pdf, url, target, footer)

    def print_html(self, html: str, base_url: str, target: Path, footer: str | None = None) -> None:
        """Print the document ``html`` to ``target`` as :meth:`print_pdf` does, without a
        navigation: the page is opened at ``base_url`` once (relative and file:// links resolve
        against it), then each document is written into that page (``Page.setDocumentContent``)
        and printed when its load event has fired (its images loaded). About 45 % less CPU per
        report than navigating to a file each time (measured: 0.11 s instead of 0.21 s), with
        the same pages. A browser that does not answer is restarted once."""
        self._retrying(self._print_html, html, base_url, target, footer)

    def _print_html(self, html: str, base_url: str, target: Path, footer: str | None = None) -> None:
        if self._frame is None or self._frame_url != base_url:
            self.load(base_url)
            tree = self.call("Page.getFrameTree", session=True)
            self._frame, self._frame_url = tree["frameTree"]["frame"]["id"], base_url
        self._events.clear()
        self.call("Page.setDocumentContent", {"frameId": self._frame, "html": html}, session=True)
        self._wait_event("Page.loadEventFired")
        self._print_loaded(target, footer)

    def _print_pdf(self, url: str, target: Path, footer: str | None = None) -> None:
        self.load(url)
        self._print_loaded(target, footer)

    def _print_loaded(self, target: Path, footer: str | None) -> None:
        params: dict[str, Any] = {
            "printBackground": True,
            "preferCSSPageSize": True,
            "paperWidth": 8.27,
            "paperHeight": 11.69,
            "marginTop": 0,
            "marginBottom": 0,
            "marginLeft": 0,
            "marginRight": 0,
            # a tagged (accessibility-structured) PDF costs ~20 % more print time here
            "generateTaggedPDF": False,
        }
        if footer:
            params.update(displayHeaderFooter=True, headerTemplate="<span></span>", footerTemplate=footer)
        result = self.call("Page.printToPDF", params, session=True)
        target.write_bytes(base64.b64decode(result["data"]))

    def screenshot(self, url: str, width: int, height: int, scale: float = 2.0, fmt: str = "jpeg") -> bytes:
        """An image of ``url`` (used once per discipline: the funnel's cloud of practices,
        so that every PDF embeds one small JPEG instead of thousands of vector dots).
        A browser that does not answer is restarted once. Not in a ``print_only`` browser."""
        if self.print_only:
            raise BrowserError("a print_only Chromium cannot take screenshots: start one without print_only")
        return self._retrying(self._screenshot, url, width, height, scale, fmt)

    def _screenshot(self, url: str, width: int, height: int, scale: float, fmt: str) -> bytes:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
            session=True,
        )
        self.call(
            "Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}}, session=True
        )
        try:
            self.load(url)
            result = self.call(
                "Page.captureScreenshot",
                {
                    "format": fmt,
                    **({"quality": 88} if fmt == "jpeg" else {}),
                    "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
                },
                session=True,
            )
        finally:
            self.call("Emulation.clearDeviceMetricsOverride", session=True)
            self.call("Emulation.setDefaultBackgroundColorOverride", {}, session=True)
        return base64.b64decode(result["data"])

    def close(self) -> None:
        try:
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.poll() is None and getattr(self, "_to_browser", None) is not None:
                timeout, self.timeout = self.timeout, min(self.timeout, 5.0)
                try:
                    self.call("Browser.close")
                except Exception:
                    pass
                finally:
                    self.timeout = timeout
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self._kill()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
