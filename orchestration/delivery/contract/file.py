"""The bytes of a claims file: its checksum, the tell-tale bytes it holds, its blank lines
(and so the line of the file a parsed row stands on), and its header row."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.delivery.contract.rules import CLAIM_COLUMNS, MAX_BLANK_LINES, MAX_LINE_BYTES, fail

# what reading a broken gzip file raises: a bad header or CRC (OSError), a cut stream
# (EOFError), a corrupt deflate body (zlib.error, which is neither)
GZIP_READ_ERRORS = (OSError, EOFError, zlib.error)
TELLTALE_BYTES = {"quote": b'"', "cr": b"\r", "nul": b"\x00", "space": b" ", "tab": b"\t"}
UTF8_BOM = b"\xef\xbb\xbf"


def _chunks(path: Path, opener=open):
    """The file in 16 MB chunks (``opener=gzip.open``: its decompressed text)."""
    with opener(path, "rb") as f:
        while chunk := f.read(16 * 1024 * 1024):
            yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileScan:
    """The file's sha256, which tell-tale bytes (``TELLTALE_BYTES``) occur in it, and how
    many lines its text has (more than header + rows means blank lines: ``find_blank_lines``)."""

    sha256: str
    telltales: frozenset[str]
    text_lines: int = 0
    gzip_error: str | None = None  # why a gzip file cannot be read to its end (``check_gzip``)


class _BlankLineFinder:
    """Where the empty lines (LF or CRLF) of a text fed in chunks are.

    DuckDB skips blank lines, so the n-th row it reads is not on line n + 1 of the file
    when one precedes it; with their line numbers ``source_line_sql`` says where a row
    really is. A clean file has none, so the pass over the bytes only looks for the two byte
    patterns; lines are counted (``line_numbers``, a second pass) only when one was seen.
    """

    PATTERNS = (b"\n\n", b"\n\r\n")

    def __init__(self) -> None:
        self.offsets: list[int] = []  # offset of each newline that is followed by an empty line
        self._tail = b""
        self._position = 0

    def feed(self, chunk: bytes) -> None:
        if self._tail:  # a pattern that straddles the previous chunk and this one
            edge = self._tail + chunk[:2]
            for pattern in self.PATTERNS:
                at = edge.find(pattern)
                while at != -1:
                    if at < len(self._tail) <= at + len(pattern) - 1:
                        self.offsets.append(self._position - len(self._tail) + at)
                    at = edge.find(pattern, at + 1)
        for pattern in self.PATTERNS:
            at = chunk.find(pattern)
            while at != -1:
                self.offsets.append(self._position + at)
                at = chunk.find(pattern, at + 1)
        self._tail = (self._tail + chunk[-2:])[-2:]
        self._position += len(chunk)

    def line_numbers(self, chunks) -> list[int]:
        """The numbers of the blank lines, counting newlines in ``chunks`` (the same text again)."""
        pending = sorted(set(self.offsets))
        numbers: list[int] = []
        newlines, position, i = 0, 0, 0
        for chunk in chunks:
            end = position + len(chunk)
            cursor, before = 0, newlines  # ``before``: the newlines ahead of chunk[cursor]
            while i < len(pending) and pending[i] < end:
                # the newline at the offset ends line newlines_before + 1; the next line is empty.
                # Counted on from the previous offset, not from the chunk's start: a file of
                # millions of blank lines would take hours counting each from the start.
                before += chunk.count(b"\n", cursor, pending[i] - position)
                cursor = pending[i] - position
                numbers.append(before + 2)
                i += 1
            if i == len(pending):
                break
            newlines += chunk.count(b"\n")
            position = end
        return numbers


def _text_chunks(path: Path):
    """The file's text in chunks (decompressed for a gzip file)."""
    return _chunks(path, gzip.open if path.name.endswith(".gz") else open)


def scan_file(path: Path) -> FileScan:
    """One pass over the bytes: the checksum, whether a quote, CR, NUL, space or tab
    occurs anywhere (a clean claims file has none of them), and the number of lines.
    For a gzip file the bytes say nothing about the text, so every tell-tale counts as
    present and the lines are counted in the decompressed text."""
    digest = hashlib.sha256()
    compressed = path.name.endswith(".gz")
    found: set[str] = set(TELLTALE_BYTES) if compressed else set()
    newlines, last, gzip_error = 0, b"", None
    for chunk in _chunks(path):
        digest.update(chunk)
        if not compressed:
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
        for name, byte in TELLTALE_BYTES.items():
            if name not in found and byte in chunk:
                found.add(name)
    if compressed:
        try:
            for chunk in _text_chunks(path):
                newlines += chunk.count(b"\n")
                last = chunk[-1:] or last
        except GZIP_READ_ERRORS as exc:  # a broken gzip file: check_gzip rejects it
            gzip_error = str(exc) or type(exc).__name__
    text_lines = newlines + (1 if last and last != b"\n" else 0)
    return FileScan(digest.hexdigest(), frozenset(found), text_lines, gzip_error)


def check_gzip(scan: FileScan) -> None:
    """A gzip file that cannot be read to its end (a corrupt body, a cut stream, a CRC or
    length that does not match its text) is broken, even where DuckDB's reader does not
    say so: it reads some corrupt bodies without a word, and then with changed values."""
    if scan.gzip_error is not None:
        fail("file.readable", f"the gzip file is broken: {scan.gzip_error[:200]}")


def find_blank_lines(path: Path, scan: FileScan, rows: int) -> tuple[int, ...]:
    """The line numbers of the file's blank lines; none when its lines are exactly the
    header and ``rows`` (the usual case, decided without reading the file again). More
    than ``MAX_BLANK_LINES`` of them break rule file.blank_lines."""
    if scan.text_lines <= rows + 1:
        return ()
    blank = scan.text_lines - rows - 1
    if blank > MAX_BLANK_LINES:
        fail(
            "file.blank_lines",
            f"the file has {blank} blank lines beside its header and {rows} claim lines; "
            f"at most {MAX_BLANK_LINES} are tolerated",
        )
    finder = _BlankLineFinder()
    try:
        for chunk in _text_chunks(path):
            finder.feed(chunk)
        return tuple(finder.line_numbers(_text_chunks(path))) if finder.offsets else ()
    except GZIP_READ_ERRORS:
        return ()


def source_line_sql(blank_lines: tuple[int, ...] = ()) -> str:
    """The line of the file on which the row ``rowid`` of a table holding the file's rows
    in order stands, as SQL: the header is line 1, and every blank line before the row
    pushes it down one.

    Row r is pushed down by every blank line j (0-based, sorted) with r >= line_j - 2 - j;
    the count of such thresholds is a binary search written as nested CASEs, so a row
    costs log2(blank lines) comparisons however many blank lines the file has.
    """
    if not blank_lines:
        return "rowid + 2"
    thresholds = [blank - 2 - j for j, blank in enumerate(sorted(blank_lines))]

    def at_or_below(lo: int, hi: int) -> str:
        # thresholds[:lo] are <= rowid, thresholds[hi:] are > rowid
        if lo == hi:
            return str(lo)
        mid = (lo + hi) // 2
        return f"case when rowid >= {thresholds[mid]} then {at_or_below(mid + 1, hi)} else {at_or_below(lo, mid)} end"

    return f"rowid + 2 + {at_or_below(0, len(thresholds))}"


def check_checksum(path: Path, manifest: dict[str, Any], actual: str | None = None) -> str:
    actual = actual or file_sha256(path)
    promised = manifest["files"][0]["sha256"]
    if actual != promised:
        fail(
            "file.checksum",
            f"sha256 of the file is {actual}, the manifest promises {promised} "
            "(the file was changed, truncated or replaced after the manifest was written)",
        )
    return actual


def _open_text_head(path: Path) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.readline(MAX_LINE_BYTES + 1)
    except GZIP_READ_ERRORS as exc:
        fail("file.readable", f"the file cannot be read: {exc}")
    return b""  # unreachable


def check_header(path: Path) -> None:
    """The first line must be exactly the contract's columns, comma-separated.

    A UTF-8 byte-order mark and a CRLF line end are accepted (harmless: they change
    neither the columns nor a value); any other difference is a violation.
    """
    head = _open_text_head(path)
    if not head:
        fail("file.header", "the file is empty: no header row")
    if len(head) > MAX_LINE_BYTES:
        fail("file.line_size", f"the first line is longer than {MAX_LINE_BYTES} bytes")
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    try:
        text = head.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        fail("file.encoding", "the header row is not valid UTF-8", [{"line": 1}])
    if "\x00" in text:  # UTF-16 text is valid UTF-8 byte by byte: its NULs give it away
        fail(
            "file.encoding",
            "the header row holds NUL bytes: the file is not UTF-8 text (UTF-16, or binary data)",
            [{"line": 1}],
        )
    if "\r" in text:
        fail(
            "file.line_ends",
            "lines end with a bare CR (carriage return without line feed); the contract requires LF or CRLF line ends",
            [{"line": 1, "header": text[:80]}],
        )
    columns = text.split(",")
    if tuple(columns) == CLAIM_COLUMNS:
        return
    expected = list(CLAIM_COLUMNS)
    if ";" in text or "\t" in text or "|" in text:
        fail(
            "file.delimiter",
            "the header is not comma-separated (found ';', tab or '|'); the contract requires commas",
            [{"line": 1, "header": text[:200]}],
        )
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if extra:
            parts.append("unexpected column(s) " + ", ".join(repr(c) for c in extra))
        fail("file.header", "; ".join(parts), [{"line": 1, "header": text[:300]}])
    fail(
        "file.header",
        f"the columns are not in the contract's order (expected {','.join(expected)})",
        [{"line": 1, "header": text[:300]}],
    )
