"""Pages that record what the portal's Content-Security-Policy refused, for the browser tests."""

from __future__ import annotations

from collections.abc import Callable

# each document's refusals, as the browser reports them (an init script runs on every load)
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.effectiveDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


def csp_recording_page(browser, **context_options) -> tuple[object, Callable[[], list[str]]]:
    """A page in a context of its own, and ``violations()``: what was refused since the last
    call (the current document's violation events and every "Refused ..." console error)."""
    context = browser.new_context(**context_options)
    context.add_init_script(LISTEN)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" and "Refused" in m.text else None)

    def violations() -> list[str]:
        found = page.evaluate("window.__violations") + refused
        refused.clear()
        return found

    return page, violations
