"""Whether this machine's clock is synchronised to a time source (ASVS 7.3.4).

The platform stores and logs its times in UTC and leaves keeping the clock right to the
host (systemd-timesyncd, chrony or ntpd). What it can do is notice when the host does not:
the kernel keeps the synchronisation state that those daemons set, and ``adjtimex(2)``
with no changes returns it. ``TIME_ERROR`` means the clock is not synchronised (no daemon
disciplines it, or it lost its source); the kernel says so whichever daemon is used, and
inside a container it is the host's clock. Linux only: elsewhere the state is unknown.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

TIME_OK, TIME_ERROR = 0, 5  # adjtimex(2)'s clock states; 1 to 4 are leap-second states, all synchronised
_TIMEX_BYTES = 1024  # struct timex is about 208 bytes; a larger zeroed buffer asks for no change


def kernel_clock_state() -> int | None:
    """adjtimex's clock state (0 to 5), or None where it cannot be read."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        state = libc.adjtimex(ctypes.create_string_buffer(_TIMEX_BYTES))  # modes = 0: read only
    except (OSError, AttributeError):
        return None
    return state if 0 <= state <= TIME_ERROR else None


def clock_unsynchronised() -> bool:
    """True only when the kernel says the clock is not synchronised."""
    return kernel_clock_state() == TIME_ERROR
