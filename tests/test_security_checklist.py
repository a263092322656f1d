"""docs/security.md is a checklist of tests: every test it names exists, and its summary table
counts exactly the rows above it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
STATUSES = ("met", "met (by design)", "not yet tested", "partly", "not met", "not applicable")


def test_every_named_test_exists():
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", CHECKLIST))
    assert len(named) > 100
    missing = [
        f"{path}::{name}"
        for path, name in sorted(named)
        if not (ROOT / path).is_file() or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert missing == []


def test_the_summary_counts_the_rows():
    rows = re.findall(r"^\| (\d+)\.\d+\.\d+ \|[^|]*\| ([a-z ()]+?) \|", CHECKLIST, re.M)
    assert {status for _, status in rows} <= set(STATUSES)
    counted = Counter((f"V{chapter}", status) for chapter, status in rows)
    summary = {
        cells[0]: [int(c) for c in cells[1:]]
        for cells in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in CHECKLIST.split("## Summary", 1)[1].splitlines()
            if re.match(r"\| (V\d+|all) \|", line)
        )
    }
    chapters = sorted({chapter for chapter, _ in counted}, key=lambda c: int(c[1:]))
    assert list(summary) == [*chapters, "all"]
    for chapter in chapters:
        expected = [counted[(chapter, s)] for s in STATUSES]
        assert summary[chapter] == [sum(expected), *expected], chapter
    totals = [sum(counted[(c, s)] for c in chapters) for s in STATUSES]
    assert summary["all"] == [sum(totals), *totals]
