"""The oracle: each case written to a landing zone of its own, validated by the worker
(with a time limit), and the verdict judged against the case's expectation.

A rejection must name the file, a rule of the contract and, for a rule about lines, the
first offending lines (the mutated line where the case knows it), in a message a person
can read (bounded in length, whatever the delivery held). An acceptance must give the
typed rows the case expects: for a harmless mutation exactly the clean delivery's. The
landing zone must be unchanged afterwards. An exception, a dead worker, a time-out or an
answer against the expectation is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.core.settings import REPO_ROOT
from orchestration.delivery.contract.rules import AMOUNT_COLUMNS, CLAIM_COLUMNS
from orchestration.delivery.fuzz.model import (
    LINE_RULES,
    MAX_MESSAGE_CHARS,
    REJECT,
    ROW_CHECK_RULES,
    RULE_NAME,
    UNSEEN,
    Case,
    write_case,
)

CRASH, HANG = "crash", "hang"
DEFAULT_TIMEOUT = 60.0  # seconds per case; a clean case takes a few hundredths, a 5 MB one a second
DEFAULT_MEMORY_MB = 3072  # the worker's address space (DuckDB's own limit is 1 GB of it)


@dataclass
class Outcome:
    """What became of one case: ``kind`` is the expectation's when it was met, else crash,
    hang or the expectation's with ``problems``; ``rule`` the first rule of a rejection."""

    kind: str
    rule: str | None = None
    rules: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


class Worker:
    """The validator in a subprocess (``worker.py``), restarted after a crash or a hang."""

    def __init__(self, memory_mb: int = DEFAULT_MEMORY_MB):
        self.memory_mb = memory_mb
        self.proc: subprocess.Popen | None = None
        self._stderr = tempfile.TemporaryFile()

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self._stderr.seek(0)
            self._stderr.truncate()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "orchestration.delivery.fuzz.worker", str(self.memory_mb)],
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        return self.proc

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError:
            return {"died": proc.wait(), "stderr": self._stderr_tail()}
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return {"hang": timeout}
        line = proc.stdout.readline()
        if not line:
            return {"died": proc.wait(), "stderr": self._stderr_tail()}
        return json.loads(line)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self._stderr.close()


def tree_digest(root: Path) -> dict[str, str]:
    """What is under ``root``, without following a link or opening a FIFO."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = "link:" + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256()
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                found[key] = digest.hexdigest()
            else:
                found[key] = f"mode:{stat.S_IFMT(info.st_mode)}"
    return found


def run_case(case: Case, worker: Worker, root: Path, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Write, validate and judge one case in a folder of its own under ``root`` (removed after)."""
    place = Path(tempfile.mkdtemp(prefix="case-", dir=root))
    try:
        landing = place / "landing"
        folder = write_case(case, landing, place / "outside")
        before = tree_digest(landing)
        started = time.monotonic()
        answer = worker.ask({"landing": str(landing)}, timeout)
        outcome = judge(case, answer, folder.name)
        outcome.seconds = time.monotonic() - started
        if outcome.kind not in (CRASH, HANG) and tree_digest(landing) != before:
            outcome.problems.append("the validation changed the landing zone")
        return outcome
    finally:
        shutil.rmtree(place, ignore_errors=True)


def judge(case: Case, answer: dict[str, Any], folder_name: str) -> Outcome:
    """The worker's answer against the case's expectation."""
    peak = float(answer.get("peak_rss_mb", 0.0))
    if "hang" in answer:
        return Outcome(HANG, problems=[f"no verdict within {answer['hang']:.0f} s"])
    if "died" in answer:
        return Outcome(CRASH, problems=[f"the validator died (exit {answer['died']}): {answer['stderr'][-600:]}"])
    if "error" in answer:
        return Outcome(CRASH, problems=[f"an exception instead of a verdict: {answer['error']}"], peak_rss_mb=peak)
    expected = case.expectation
    if expected.kind == UNSEEN:
        problems = ["a folder that is no delivery was read as one"] if answer["seen"] else []
        return Outcome(UNSEEN, problems=problems, peak_rss_mb=peak)
    if not answer["seen"]:
        return Outcome(expected.kind, problems=["scan_landing did not find the delivery"], peak_rss_mb=peak)
    rules = [v["rule"] for v in answer["violations"]]
    outcome = Outcome(expected.kind, rules[0] if rules else None, rules, peak_rss_mb=peak)
    if expected.kind == REJECT:
        outcome.problems = _rejection_problems(case, answer, folder_name)
    elif not answer["accepted"]:
        outcome.problems = [f"rejected, but the contract tolerates it: {answer['error_text'][:600]}"]
    else:
        outcome.problems = _row_problems(case.expected_rows or [], answer["rows"])
    return outcome


def _rejection_problems(case: Case, answer: dict[str, Any], folder_name: str) -> list[str]:
    if answer["accepted"]:
        return ["accepted, but the contract must reject it"]
    problems = []
    text = answer["error_text"]
    draft, expected = case.draft, case.expectation
    label = f"landing/{draft.period}/{draft.insurer}/{folder_name}/"
    if label not in text:
        problems.append(f"the verdict does not name the file under {label}: {text[:300]!r}")
    if len(text) > MAX_MESSAGE_CHARS:
        problems.append(f"the verdict is {len(text)} characters long: {text[:300]!r}...")
    rules = {v["rule"] for v in answer["violations"]}
    for v in answer["violations"]:
        if not RULE_NAME.match(v["rule"]):
            problems.append(f"rule {v['rule']!r} is not a rule of the contract")
        if f"rule {v['rule']}" not in text:
            problems.append(f"the verdict's text does not name rule {v['rule']}")
        if v["rule"] in LINE_RULES and not v["rows"] and "empty" not in v["message"]:
            problems.append(f"rule {v['rule']} names no offending line: {v['message'][:200]!r}")
    if expected.rules:
        missing = (
            expected.rules - rules if expected.all_rules else (set() if expected.rules & rules else expected.rules)
        )
        if missing:
            problems.append(f"expected rule(s) {sorted(missing)}, got {sorted(rules)}: {text[:400]!r}")
    if expected.line is not None:
        for v in answer["violations"]:
            if (
                v["rule"] in expected.rules & ROW_CHECK_RULES
                and v["rows"]
                and v["rows"][0].get("line") != expected.line
            ):
                problems.append(
                    f"rule {v['rule']} names line {v['rows'][0].get('line')}, the offending line is {expected.line}"
                )
    return problems


def _row_problems(expected: list[dict[str, Any]], got: list[list[Any]]) -> list[str]:
    if len(expected) != len(got):
        return [f"{len(got)} typed rows, expected {len(expected)}"]
    for number, (want, have) in enumerate(zip(expected, got)):
        for column, value in zip(CLAIM_COLUMNS, have):
            wanted = want[column]
            same = (
                Decimal(value) == wanted
                if column in AMOUNT_COLUMNS and value is not None and wanted is not None
                else value == wanted
            )
            if not same:
                return [f"row {number} {column}: the method would read {value!r:.80}, the insurer wrote {wanted!r:.80}"]
    return []
