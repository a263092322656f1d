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
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-default-apps", "--mute-audio", "--hide-scrollbars", "--disable-dev-shm-usage",
    "--allow-file-access-from-files",
]
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ChromiumMissing(RuntimeError):
    pass


class BrowserError(RuntimeError):
    pass


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
        "render with pdf=False to write only the HTML reports")


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

    def __init__(self, binary: str | None = None, timeout: float = 60.0):
        self.binary = binary or find_chromium()
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="spiegel-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child must see the pipe ends as fds 3 and 4
        self._proc = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable", session=True)
            # the print page has no scripts; keep it that way even if a template slips one in
            self.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=True)
        except Exception:
            self.close()
            raise

    # -- protocol -----------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self._proc.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
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
            self._events.append(self._read_message(deadline))

    # -- use ------------------------------------------------------------------------
    def load(self, url: str) -> None:
        self._events.clear()
        result = self.call("Page.navigate", {"url": url}, session=True)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self._wait_event("Page.loadEventFired")

    def print_pdf(self, url: str, target: Path, footer: str | None = None) -> None:
        """Open ``url`` and print it to ``target`` as an A4 PDF (margins come from @page;
        ``footer`` is a Chromium footer template, drawn in the bottom margin)."""
        self.load(url)
        params: dict[str, Any] = {
            "printBackground": True, "preferCSSPageSize": True, "paperWidth": 8.27, "paperHeight": 11.69,
            "marginTop": 0, "marginBottom": 0, "marginLeft": 0, "marginRight": 0,
            # a tagged (accessibility-structured) PDF costs ~20 % more print time here
            "generateTaggedPDF": False,
        }
        if footer:
            params.update(displayHeaderFooter=True, headerTemplate="<span></span>", footerTemplate=footer)
        result = self.call("Page.printToPDF", params, session=True)
        target.write_bytes(base64.b64decode(result["data"]))

    def screenshot(self, url: str, width: int, height: int, scale: float = 2.0, fmt: str = "jpeg") -> bytes:
        """An image of ``url`` (used once per discipline: the funnel's cloud of practices,
        so that every PDF embeds one small JPEG instead of thousands of vector dots)."""
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": scale, "mobile": False}, session=True)
        self.call("Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}},
                  session=True)
        try:
            self.load(url)
            result = self.call("Page.captureScreenshot", {
                "format": fmt, **({"quality": 88} if fmt == "jpeg" else {}), "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
                session=True)
        finally:
            self.call("Emulation.clearDeviceMetricsOverride", session=True)
            self.call("Emulation.setDefaultBackgroundColorOverride", {}, session=True)
        return base64.b64decode(result["data"])

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                try:
                    self.call("Browser.close") if hasattr(self, "_session") else None
                except Exception:
                    pass
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
