"""The kernel's clock state, read for real (orchestration/core/clock.py; the platform runs on Linux)."""

from orchestration.core import clock


def test_the_kernels_clock_state_is_read():
    state = clock.kernel_clock_state()
    assert state in range(clock.TIME_OK, clock.TIME_ERROR + 1)
    assert clock.clock_unsynchronised() is (state == clock.TIME_ERROR)
