"""A publishing process beside the demo's main one: one period publishes while the next
is ingested and computed.

Publishing reads the warehouse only at its start (orchestration/release/publish.py); the rest is
rendering reports, CPU work in Chromium that leaves room beside a method run on two
cores. The child imports Dagster and the definitions once, while the demo generates
its data, and then publishes the periods it is given one at a time and in order (a
period's reports show the periods before it), each as the same Dagster job the CLI
and the UI launch (``publish_release``), a run of its own.

Protocol: the parent writes one period per line on the child's stdin; the child answers
each with one JSON line on its stdout (``period``, ``success``, ``message``, ``revision``,
``seconds``). Everything else the child prints goes to ``<data dir>/logs/publisher.log``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

from orchestration.core.settings import REPORT_WORKERS_ENV, SpiegelPaths
from orchestration.runs.instance import use_data_dir


@dataclass
class Published:
    period: str
    success: bool
    message: str
    revision: str | None
    seconds: float


class Publisher:
    """The parent's handle on the publishing child (``with Publisher(paths) as p: ...``)."""

    def __init__(self, paths: SpiegelPaths):
        self.paths = paths
        self.log_path = paths.data_dir / "logs" / "publisher.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._pending: list[str] = []
        # one PDF worker: the other core runs the next period (unless the operator chose)
        env = {**os.environ, REPORT_WORKERS_ENV: os.environ.get(REPORT_WORKERS_ENV) or "1"}
        with open(self.log_path, "w", encoding="utf-8") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "orchestration.commands.demo_publisher", str(paths.data_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
                env=env,
            )

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(self, period: str) -> None:
        self._proc.stdin.write(period + "\n")
        self._proc.stdin.flush()
        self._pending.append(period)

    def result(self) -> Published:
        """The outcome of the oldest period submitted (waits for it)."""
        period = self._pending.pop(0)
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            return Published(
                period,
                False,
                f"the publishing process ended (exit code {code}) before it answered; its output: {self.log_path}",
                None,
                0.0,
            )
        answer = json.loads(line)
        return Published(answer["period"], answer["success"], answer["message"], answer["revision"], answer["seconds"])

    def close(self) -> None:
        """Let the child finish (it stops at the end of its input); kill it if it does not."""
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout=60 if not self._pending else 5)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                self._proc.wait()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None and self._proc.poll() is None:
            self._proc.terminate()  # interrupted: a publish leaves no partial revision
        self.close()


def serve(data_dir: str) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.release.publish import newest_revision
    from orchestration.runs import runner

    answers = sys.stdout
    sys.stdout = sys.stderr  # only the answers go to the parent
    paths = SpiegelPaths.from_env(data_dir)
    use_data_dir(paths)
    runner.definitions()  # import while the parent still works on the first period
    for line in sys.stdin:
        period = line.strip()
        if not period:
            continue
        started = time.monotonic()
        print(f"{period}: publishing ...", flush=True)
        try:
            outcome = runner.publish(period)
            success, message = outcome.success, outcome.message or ("" if outcome.success else "failed")
        except Exception as exc:  # an answer for every period, whatever happens
            success, message = False, runner.one_line(f"{type(exc).__name__}: {exc}")
        revision = newest_revision(paths, period) if success else None
        print(f"{period}: {'published ' + str(revision) if success else 'FAILED: ' + message}", flush=True)
        answers.write(
            json.dumps(
                {
                    "period": period,
                    "success": success,
                    "message": message,
                    "revision": str(revision) if revision else None,
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
            + "\n"
        )
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
