"""Many short platform processes for little: a warm parent that forks one per command.

A new ``spiegel`` process spends seconds importing Dagster, the definitions (dbt's
manifest), Great Expectations and the reports before it does anything; a test that kills
a command at every crash point would spend most of its time there. This process imports
all of that once (``python -m tests.support.forking``, so ``__main__`` has a file and
pyspark does not take it for its doctests), then forks a child per command it reads
from stdin. Each child is a real command in a process of its own: it leads a new process
group (a crash point's SIGKILL takes its dbt and Chromium subprocesses with it), has the
environment it is given and its output in files, and runs the real entry point:

- ``{"spiegel": [argv...]}``: ``orchestration.cli.main`` (the CLI);
- ``{"dagster": [argv...]}``: Dagster's own command line (``dagster job execute ...``:
  a run created and executed by Dagster, as a run worker does, not by our runner);
- ``{"call": "module:function", "args": [...]}``: one function.

The parent answers each with a JSON line: the child's exit code, or the signal that
killed it, and the paths of its output. No thread runs in the parent when it forks (it
imports only), and it never opens a database.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback

from tests.support import process_group

# Arms the step-boundary hook when the definitions load (orchestration/core/crashpoints.py);
# the point itself is set per child, and "armed" names none.
os.environ["SPIEGEL_CRASH_AT"] = "armed"


def _warm_up() -> None:
    import great_expectations  # noqa: F401  (each gate run needs it)

    import orchestration.cli  # noqa: F401
    import orchestration.definitions  # noqa: F401  (the code location, with the hook)
    import reports.render  # noqa: F401
    from orchestration import gates  # noqa: F401


def _run(call: dict) -> int:
    if "spiegel" in call:
        from orchestration import cli

        return cli.main(call["spiegel"])
    if "dagster" in call:
        from dagster._cli import cli as dagster_cli

        try:
            dagster_cli.main(args=call["dagster"], prog_name="dagster", standalone_mode=False)
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0
    module, _, function = call["call"].partition(":")
    getattr(importlib.import_module(module), function)(*call.get("args", []))
    return 0


def _child(call: dict) -> None:
    os.setpgid(0, 0)
    os.environ.clear()
    os.environ.update(call["env"])
    with open(os.devnull, "rb") as nothing, open(call["stdout"], "wb") as out, open(call["stderr"], "wb") as err:
        os.dup2(nothing.fileno(), 0)  # the commands' lines are the parent's, not the child's
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
    code = 1
    try:
        code = _run(call)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    _warm_up()
    print("ready", flush=True)
    for line in sys.stdin:
        call = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(call)
        _, status = os.waitpid(pid, 0)
        process_group.wait_until_gone(pid)  # the child led its group; its dbt may linger
        answer = {"pid": pid, "stdout": call["stdout"], "stderr": call["stderr"]}
        if os.WIFSIGNALED(status):
            answer["returncode"] = -os.WTERMSIG(status)
        else:
            answer["returncode"] = os.WEXITSTATUS(status)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    main()
