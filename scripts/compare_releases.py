"""Compare the published releases of two data directories, file by file.

    .venv/bin/python scripts/compare_releases.py DIR_A DIR_B

For a refactoring that must not change what is published: every file under
``releases/<period>/<revision>/`` of A must exist in B with the same bytes, apart from
the moments of publishing and the code version that published them (the git commit in
release.json and in each report's colophon) and the measured seconds per PDF. Text files
(CSV, HTML, JSON, JS, CSS) are compared after replacing those by placeholders; a PDF
whose bytes differ is compared by its words (poppler's ``pdftotext``), with the same
placeholders. Prints one line per difference and a summary; exits 1 when anything
differs, 2 on bad arguments.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
COMPACT_TIMESTAMP = re.compile(rb"\d{8}T\d{6,12}Z")
CODE_VERSION = re.compile(rb"\b[0-9a-f]{40}\b")
SECONDS_PER_PDF = re.compile(rb'"seconds_per_pdf": [0-9.]+')


def _moments(data: bytes, publishing_days: list[bytes]) -> bytes:
    data = TIMESTAMP.sub(b"<moment>", data)
    data = COMPACT_TIMESTAMP.sub(b"<moment>", data)
    data = CODE_VERSION.sub(b"<code version>", data)
    data = SECONDS_PER_PDF.sub(b'"seconds_per_pdf": <seconds>', data)
    for day in publishing_days:
        data = data.replace(day, b"<day>")
    return data


def _publishing_days(*roots: Path) -> list[bytes]:
    """The days the releases were published (their dates appear in reports' footers)."""
    days = {date.today().isoformat()}
    for root in roots:
        for release in root.glob("releases/*/r*/release.json"):
            days.update(re.findall(r"\d{4}-\d{2}-\d{2}(?=T)", release.read_text(encoding="utf-8")))
    spelled = set()
    for day in days:
        d = date.fromisoformat(day)
        spelled |= {day, d.strftime("%d-%m-%Y"), f"{d.day} {_MONTHS[d.month - 1]} {d.year}"}
    return sorted((s.encode() for s in spelled), key=len, reverse=True)


_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def normalised(path: Path, days: list[bytes]) -> bytes:
    if path.suffix == ".pdf":
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
        # the code version's glyphs are of other widths: lines may wrap elsewhere
        return re.sub(rb"\s+", b" ", _moments(text, days))
    return _moments(path.read_bytes(), days)


def compare(a: Path, b: Path) -> tuple[int, list[str]]:
    days = _publishing_days(a, b)
    files_a = {
        p.relative_to(a)
        for p in (a / "releases").rglob("*")
        if p.is_file() and not p.relative_to(a).parts[1].startswith("_")
    }
    files_b = {
        p.relative_to(b)
        for p in (b / "releases").rglob("*")
        if p.is_file() and not p.relative_to(b).parts[1].startswith("_")
    }
    problems = [f"only in {a}: {p}" for p in sorted(files_a - files_b)]
    problems += [f"only in {b}: {p}" for p in sorted(files_b - files_a)]
    same = 0
    for rel in sorted(files_a & files_b):
        if (a / rel).read_bytes() == (b / rel).read_bytes():
            same += 1
        elif normalised(a / rel, days) == normalised(b / rel, days):
            same += 1
        else:
            problems.append(f"differs: {rel}")
    return same, problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not all((Path(d) / "releases").is_dir() for d in argv):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        print("both arguments must be data directories with a releases/ folder", file=sys.stderr)
        return 2
    same, problems = compare(Path(argv[0]), Path(argv[1]))
    for line in problems:
        print(line)
    print(f"{same} files the same (apart from moments of publishing), {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
