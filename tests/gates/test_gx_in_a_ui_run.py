"""A run the Dagster UI launches can validate: its process's ``__main__`` has no file."""

from __future__ import annotations

import subprocess
import sys

from orchestration.core.settings import REPO_ROOT

# what the UI's code server starts a run in: multiprocessing's spawn, ``python -c ...``
UI_RUN = "from orchestration.gates import gx_adapter; gx_adapter._gx(); print('validated')"


def test_great_expectations_loads_in_a_process_whose_main_has_no_file():
    """pyspark (imported by GX) used to end such a process with SystemExit: 0, so every gate
    of a run started from the UI failed."""
    done = subprocess.run([sys.executable, "-c", UI_RUN], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "validated" in done.stdout, done.stderr[-2000:]
