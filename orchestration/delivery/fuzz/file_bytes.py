"""Mutations of the bytes of the claims file: encodings, NUL bytes, line ends, quoting,
delimiters, field counts, the header, truncation, giant fields, floods of blank lines and
broken gzip files. Each says what the contract must do with it."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from orchestration.delivery.contract.rules import CLAIM_COLUMNS, MAX_BLANK_LINES, MAX_LINE_BYTES
from orchestration.delivery.fuzz.model import (
    HARMLESS,
    REJECT,
    VALUE_CHANGE,
    Draft,
    Expectation,
    render_final_text,
    render_payload,
    render_text,
    value_rules,
)
from orchestration.delivery.fuzz.values import MARK, Mutated, any_cell, mark
from orchestration.landing.zone import MANIFEST_NAME

GIANT_SIZES = (MAX_LINE_BYTES + 1, 5_000_000)  # just over the limit, and 5 MB
BLANK_FLOODS = (MAX_BLANK_LINES + 1, 5_000_000)


def _invalid_utf8(draw, d: Draft) -> Mutated:
    raw = draw(st.sampled_from([b"\xff", b"\xfe", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(CLAIM_COLUMNS) - 1))
        d.header = list(CLAIM_COLUMNS)
        d.header[at] = d.header[at] + MARK
        d.text_edits.append(lambda text: text.replace(MARK.encode(), raw))
        return f"bytes {raw!r} in the header", Expectation(REJECT, frozenset({"file.encoding"}))
    i, column = any_cell(draw, d)
    mark(d, i, column, draw(st.integers(0, 12)), raw)
    return f"bytes {raw!r} in row {i} {column}", Expectation(REJECT, frozenset({"file.encoding"}))


def _latin1(draw, d: Draft) -> Mutated:
    i, column = any_cell(draw, d)
    mark(d, i, column, draw(st.integers(0, 12)), "é".encode("latin-1"))
    return f"Latin-1 é in row {i} {column}", Expectation(REJECT, frozenset({"file.encoding"}))


def _utf16(draw, d: Draft) -> Mutated:
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
    d.text_edits.append(lambda text: text.decode("utf-8").encode(codec))
    return f"the file in {codec}", Expectation(REJECT, frozenset({"file.encoding", "file.header"}))


def _nul_anywhere(draw, d: Draft) -> Mutated:
    where = draw(st.floats(0, 1))
    d.text_edits.append(lambda text: text[: int(where * len(text))] + b"\x00" + text[int(where * len(text)) :])
    return f"a NUL byte at {where:.3f} of the file", Expectation(REJECT)


def _bare_cr(draw, d: Draft) -> Mutated:
    d.newline = "\r"
    d.line_end_after.clear()
    return "CR-only line ends", Expectation(REJECT, frozenset({"file.line_ends"}))


def _mixed_line_ends(draw, d: Draft) -> Mutated:
    i = draw(st.integers(0, len(d.rows) - 1))
    assume(i < len(d.rows) - 1 or d.final_newline)
    d.line_end_after[i] = "\n" if d.newline == "\r\n" else "\r\n"
    return f"row {i} ends with {d.line_end_after[i]!r} in a file of {d.newline!r}", Expectation(REJECT)


def _delimiter(draw, d: Draft) -> Mutated:
    other = draw(st.sampled_from([b";", b"\t", b"|"]))
    d.text_edits.append(lambda text: text.replace(b",", other))
    return f"{other!r} as delimiter", Expectation(REJECT, frozenset({"file.delimiter"}))


def _unquoted_quote(draw, d: Draft) -> Mutated:
    """A quote in a field that is not quoted: at its start it opens a quote that never
    closes; further on, DuckDB reads it as a character of the value (RFC 4180 forbids it,
    but no value changes: the field holds exactly what the insurer wrote)."""
    i, column = any_cell(draw, d)
    at = 0 if draw(st.booleans()) else draw(st.integers(1, 12))
    words = f"an unescaped quote at {at} of row {i} {column}"
    value = d.rows[i][column][:at] + '"' + d.rows[i][column][at:]
    d.rows[i][column] = value
    d.never_quoted.add((i, column))
    if value.startswith('"'):
        return words, Expectation(REJECT)
    rules = value_rules(column, value)
    if rules:
        return words, Expectation(REJECT, rules, all_rules=True, line=d.row_line(i))
    return words, Expectation(VALUE_CHANGE)


def _unquoted_comma(draw, d: Draft) -> Mutated:
    i, column = any_cell(draw, d)
    at = draw(st.integers(0, 12))
    words = f"an unquoted comma at {at} of row {i} {column}"
    if column == CLAIM_COLUMNS[-1] and at >= len(d.rows[i][column]):
        d.row_suffix[i] = ","  # an empty field after the last: DuckDB reads no value from it
        return words + " (an empty field after the last column)", Expectation(HARMLESS)
    mark(d, i, column, at, b",")
    return words, Expectation(REJECT, frozenset({"file.field_count", "claims.amount_format"}))


def _field_count(draw, d: Draft) -> Mutated:
    i = draw(st.integers(0, len(d.rows) - 1))
    if draw(st.booleans()):
        extra = draw(st.sampled_from(["", ",", '""', ",,,", "x", " ", "0"]))
        d.row_suffix[i] = "," + extra
        words = f"row {i} ends with ,{extra}"
        if extra.replace(",", "").replace('""', "") == "":
            # DuckDB's reader drops empty fields after the 17th: no value changes (docs/operations.md)
            return words + " (empty fields after the last column)", Expectation(HARMLESS)
        return words, Expectation(REJECT, frozenset({"file.field_count"}))
    column = draw(st.sampled_from(CLAIM_COLUMNS[1:]))
    d.rows[i][column] = MARK
    d.never_quoted.add((i, column))
    d.text_edits.append(lambda text: text.replace(b"," + MARK.encode(), b""))
    return f"row {i} lacks its {column} field", Expectation(REJECT, frozenset({"file.field_count"}))


def _header(draw, d: Draft) -> Mutated:
    names = list(CLAIM_COLUMNS)
    at = draw(st.integers(0, len(names) - 1))
    how = draw(st.sampled_from(["drop", "duplicate", "rename", "swap", "upper", "pad", "quote", "add"]))
    if how == "drop":
        del names[at]
    elif how == "duplicate":
        names.insert(at, names[at])
    elif how == "rename":
        names[at] = draw(st.text(max_size=20).filter(lambda n: n != names[at]))
    elif how == "swap":
        other = draw(st.integers(0, len(names) - 1).filter(lambda k: k != at))
        names[at], names[other] = names[other], names[at]
    elif how == "upper":
        names[at] = names[at].upper()
    elif how == "pad":
        names[at] = draw(st.sampled_from([" ", "\t"])) + names[at]
    elif how == "quote":
        names[at] = f'"{names[at]}"'
    else:
        names.insert(at, draw(st.text(min_size=1, max_size=12)))
    assume(",".join(names).removeprefix("\ufeff") != ",".join(CLAIM_COLUMNS))
    d.header = names
    return f"header: {how} column {at}", Expectation(
        REJECT, frozenset({"file.header", "file.delimiter", "file.line_ends"})
    )


def _repeated_header(draw, d: Draft) -> Mutated:
    i = draw(st.integers(0, len(d.rows) - 1))
    d.lines_after.setdefault(i, []).append(",".join(CLAIM_COLUMNS))
    return f"the header again after row {i}", Expectation(REJECT, frozenset({"file.repeated_header"}))


def _space_line(draw, d: Draft) -> Mutated:
    i = draw(st.integers(0, len(d.rows) - 1))
    d.lines_after.setdefault(i, []).append(draw(st.sampled_from([" ", "\t", "  ", ","])))
    return f"a line of only spaces or a comma after row {i}", Expectation(REJECT, frozenset({"file.field_count"}))


def _truncate(draw, d: Draft) -> Mutated:
    """The file cut short; the manifest still promises every row (the insurer hashed the cut file)."""
    text = render_text(d)
    cut = int(draw(st.floats(0, 1)) * len(text))
    if text[cut - 1 : cut] == b"\r" and text[cut : cut + 1] == b"\n":
        cut += 1
    d.text_edits.append(lambda t: t[:cut])
    words = f"file cut at byte {cut} of {len(text)}"
    if text[cut:].strip(b"\r\n") == b"" and b"\n" in text[:cut]:
        return words + " (only line ends lost)", Expectation(HARMLESS)
    return words, Expectation(REJECT)


def _giant_field(draw, d: Draft) -> Mutated:
    i, column = any_cell(draw, d)
    size = draw(st.sampled_from(GIANT_SIZES))
    filler = draw(st.sampled_from([b"x", b"7", b"\n"]))
    raw = filler * size
    if filler == b"\n":
        raw = b'"' + raw + b'"'
    mark(d, i, column, None, raw)
    return f"a field of {size} bytes {filler!r} in row {i} {column}", Expectation(
        REJECT, frozenset({"file.line_size", "file.embedded_newline"})
    )


def _blank_flood(draw, d: Draft) -> Mutated:
    i = draw(st.integers(0, len(d.rows) - 1))
    d.blank_lines_after[i] = d.blank_lines_after.get(i, 0) + draw(st.sampled_from(BLANK_FLOODS))
    d.final_newline = True
    # DuckDB reads a run of blank lines longer than its line limit as one line too long
    return f"{d.blank_lines_after[i]} blank lines after row {i}", Expectation(
        REJECT, frozenset({"file.blank_lines", "file.line_size"})
    )


def _broken_gzip(draw, d: Draft) -> Mutated:
    d.gz = True
    how = draw(st.sampled_from(["flip", "cut", "twice", "plain", "empty"]))
    where = draw(st.floats(0, 1))
    flip = draw(st.integers(1, 255))
    if how == "flip":  # one byte of the compressed body (not the header, not CRC and size)

        def edit(p: bytes) -> bytes:
            at = 10 + int(where * (len(p) - 20))
            return p[:at] + bytes([p[at] ^ flip]) + p[at + 1 :]
    elif how == "cut":

        def edit(p: bytes) -> bytes:
            return p[: int(where * (len(p) - 1))]
    elif how == "twice":

        def edit(p: bytes) -> bytes:
            return gzip.compress(p, mtime=0)
    elif how == "plain":
        d.gz = False
        d.folder_edits.append(rename_data_to_gz)
        return "a plain file named claims.csv.gz", Expectation(REJECT)
    else:

        def edit(p: bytes) -> bytes:
            return b""

    d.payload_edits.append(edit)
    words = f"gzip file broken: {how} at {where:.3f}"
    try:  # a flip can hit a bit that changes nothing: then gzip (CRC checked) reads the same text
        intact = gzip.decompress(render_payload(d)) == render_final_text(d)
    except (OSError, EOFError, zlib.error):
        intact = False
    return words, Expectation(HARMLESS) if intact else Expectation(REJECT)


def rename_data_to_gz(folder: Path, outside: Path) -> None:
    (folder / "claims.csv").rename(folder / "claims.csv.gz")
    manifest = json.loads((folder / MANIFEST_NAME).read_bytes().decode("utf-8-sig"))
    manifest["files"][0]["name"] = "claims.csv.gz"
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def _double_bom(draw, d: Draft) -> Mutated:
    d.bom = True
    d.text_edits.append(lambda t: b"\xef\xbb\xbf" + t)
    return "two byte-order marks", Expectation(REJECT, frozenset({"file.header"}))


BYTE_MUTATIONS: dict[str, Callable[[Any, Draft], Mutated]] = {
    "invalid_utf8": _invalid_utf8,
    "latin1": _latin1,
    "utf16": _utf16,
    "nul": _nul_anywhere,
    "bare_cr": _bare_cr,
    "mixed_line_ends": _mixed_line_ends,
    "delimiter": _delimiter,
    "unquoted_quote": _unquoted_quote,
    "unquoted_comma": _unquoted_comma,
    "field_count": _field_count,
    "header": _header,
    "repeated_header": _repeated_header,
    "space_line": _space_line,
    "truncate": _truncate,
    "giant_field": _giant_field,
    "blank_flood": _blank_flood,
    "broken_gzip": _broken_gzip,
    "double_bom": _double_bom,
}
