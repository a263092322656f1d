"""The crash tests' wait for a killed group: it must see a member that outlives the leader."""

import os
import signal
import subprocess
import time

import pytest

from tests.support import process_group


def test_a_member_that_outlives_the_leader_is_waited_for():
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & exec sleep 60"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(process_group.members_alive(leader.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # until the background sleep has started
    os.kill(leader.pid, signal.SIGKILL)  # the leader only, as if its child were slow to die
    leader.wait()
    try:
        (member,) = process_group.members_alive(leader.pid)
        assert member != leader.pid
        with pytest.raises(AssertionError, match="still run"):
            process_group.wait_until_gone(leader.pid, timeout=0.3)
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
    process_group.wait_until_gone(leader.pid, timeout=10)
    assert process_group.members_alive(leader.pid) == []
