"""The hypothesis strategies that generate cases: a clean delivery, a few variations the
contract tolerates, and one mutation of a family (``FAMILIES``), each mutation with the
expectation the contract's reference gives it (``model``).

The mutations are generated over the contract itself, not listed: every column of
``CLAIM_COLUMNS`` gets values of every kind (well formed, padded, with a line break, a
NUL, a quote or a comma, any Unicode text, the typical wrong forms of dates and amounts);
every manifest field is deleted, given another JSON type or another value; the bytes of
the file and of the manifest are truncated, re-encoded, broken and blown up; the folder
gets extra, missing, linked or odd entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from orchestration.core.seeds import insurer_labels_in
from orchestration.delivery.contract.rules import CLAIM_COLUMNS, DATA_FILE_NAMES
from orchestration.delivery.fuzz.file_bytes import BYTE_MUTATIONS
from orchestration.delivery.fuzz.manifest_folder import FOLDER_MUTATIONS, MANIFEST_MUTATIONS
from orchestration.delivery.fuzz.model import (
    HARMLESS,
    REJECT,
    VALUE_CHANGE,
    Case,
    Draft,
    Expectation,
    typed_rows,
    value_rules,
)
from orchestration.delivery.fuzz.values import (
    ID_ALPHABET,
    JSON_VALUES,
    KNOWN_FIELDS,
    Mutated,
    all_insurers,
    all_periods,
    any_column,
    cents,
    column_values,
    digits,
    file_names,
    iso_dates,
)
from orchestration.landing.zone import DELIVERY_ID_PATTERN

FAMILIES = ("value", "bytes", "manifest", "folder", "harmless")


def _row(claim_id: str, uzovi: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {
            "claim_id": st.just(claim_id),
            "original_claim_id": st.just(""),
            "uzovi": uzovi,
            "practice_agb": digits(8),
            "therapist_agb": digits(8),
            "patient_id": st.binary(min_size=32, max_size=32).map(bytes.hex),
            "birth_date": iso_dates,
            "sex": st.sampled_from("0129"),
            "service_date": iso_dates,
            "code_list": st.sampled_from(["073", "074"]),
            "prestatie_code": digits(4),
            "dcsph_code": st.one_of(st.just(""), digits(4)),
            "indication_code": st.sampled_from(["001", "008", "009"]),
            "coverage": st.sampled_from(["BV", "AV"]),
            "claimed_amount": cents(),
            "paid_amount": cents(),
            "processed_date": iso_dates,
        }
    )


@st.composite
def base_drafts(draw, period: str | None = None, insurer: str | None = None) -> Draft:
    """A clean delivery of 1 to 6 generated claim lines that meets the contract."""
    period = period or draw(st.sampled_from(all_periods()))
    insurer = insurer or draw(st.sampled_from(all_insurers()))
    delivery_id = draw(st.from_regex(DELIVERY_ID_PATTERN, fullmatch=True))
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(st.text(alphabet=ID_ALPHABET, min_size=1, max_size=12), min_size=n, max_size=n, unique=True))
    uzovi = st.sampled_from(insurer_labels_in(insurer, period) or ["7095"])
    rows = [draw(_row(claim_id, uzovi)) for claim_id in ids]
    for row in rows:  # a credit line reverses another line of the delivery
        if n > 1 and draw(st.booleans()):
            row["original_claim_id"] = draw(st.sampled_from([i for i in ids if i != row["claim_id"]]))
    return Draft(period, insurer, delivery_id, rows)


# ------------------------------------------------------------------ tolerated variations


def _crlf(draw, d: Draft) -> str:
    d.newline = "\r\n"
    return "CRLF line ends"


def _bom(draw, d: Draft) -> str:
    d.bom = True
    return "UTF-8 byte-order mark"


def _quote_all(draw, d: Draft) -> str:
    d.quote_all = True
    return "every field quoted"


def _quote_some(draw, d: Draft) -> str:
    cells = [(i, c) for i in range(len(d.rows)) for c in CLAIM_COLUMNS]
    d.quoted |= set(draw(st.lists(st.sampled_from(cells), min_size=1, max_size=6)))
    return "some fields quoted"


def _no_final_newline(draw, d: Draft) -> str:
    d.final_newline = False
    return "no line end after the last line"


def _blank_lines(draw, d: Draft) -> str:
    for i in draw(st.lists(st.integers(0, len(d.rows) - 1), min_size=1, max_size=3)):
        d.blank_lines_after[i] = d.blank_lines_after.get(i, 0) + draw(st.integers(1, 3))
    return f"blank lines after rows {sorted(d.blank_lines_after)}"


def _gzip(draw, d: Draft) -> str:
    d.gz = True
    return "gzip-compressed (claims.csv.gz)"


def _manifest_format(draw, d: Draft) -> str:
    d.manifest_format = draw(
        st.fixed_dictionaries(
            {
                "indent": st.sampled_from([None, 0, 2, "\t"]),
                "sort_keys": st.booleans(),
                "ensure_ascii": st.booleans(),
            }
        )
    )
    return f"manifest written with {d.manifest_format}"


def _manifest_bom(draw, d: Draft) -> str:
    d.manifest_bom = True
    return "manifest with a byte-order mark"


def _manifest_extra_key(draw, d: Draft) -> str:
    key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_FIELDS | {"files"}))
    value = draw(JSON_VALUES)
    in_entry = draw(st.booleans())
    if in_entry:
        assume(key not in {"name", "sha256", "rows", "paid_amount_total"})

    def add(m: dict[str, Any]) -> None:
        (m["files"][0] if in_entry else m)[key] = value

    d.manifest_edits.append(add)
    return f"an unknown manifest field {key!r} (in the file entry: {in_entry})"


def _tolerated_file_name(d: Draft) -> st.SearchStrategy[str]:
    return file_names().filter(lambda n: n not in DATA_FILE_NAMES and "manifest" not in n)


def _extra_file(draw, d: Draft) -> str:
    name, content = draw(_tolerated_file_name(d)), draw(st.binary(max_size=64))
    d.entries.add(name)
    d.folder_edits.append(lambda folder, outside: (folder / name).write_bytes(content))
    return f"an extra file {name!r}"


VARIATIONS: dict[str, Callable[[Any, Draft], str]] = {
    "crlf": _crlf,
    "bom": _bom,
    "quote_all": _quote_all,
    "quote_some": _quote_some,
    "no_final_newline": _no_final_newline,
    "blank_lines": _blank_lines,
    "gzip": _gzip,
    "manifest_format": _manifest_format,
    "manifest_bom": _manifest_bom,
    "manifest_extra_key": _manifest_extra_key,
    "extra_file": _extra_file,
}


def _value(draw, d: Draft) -> Mutated:
    """One value of one column of one row replaced; the manifest tells the new control total."""
    i = draw(st.integers(0, len(d.rows) - 1))
    column = any_column(draw)
    others = [r["claim_id"] for k, r in enumerate(d.rows) if k != i]
    if column == "claim_id" and others and draw(st.integers(0, 4)) == 3:
        value = draw(st.sampled_from(others))  # a duplicate
    else:
        value = draw(column_values(column))
    old = d.rows[i][column]
    d.rows[i][column] = value
    words = f"row {i} {column}: {old!r} -> {value!r}"
    if value == old:
        return words, Expectation(HARMLESS)
    rules = set(value_rules(column, value))
    line = d.row_line(i)
    if column == "claim_id" and value in others:
        rules.add("claims.claim_id_unique")
        first = min(i, others.index(value) + (1 if others.index(value) >= i else 0))
        line = d.row_line(first) if len(rules) == 1 else None
    if not rules:
        return words, Expectation(VALUE_CHANGE)
    return words, Expectation(REJECT, frozenset(rules), all_rules=True, line=line)


# --------------------------------------------------------------------- bytes of the file


MUTATIONS = {"bytes": BYTE_MUTATIONS, "manifest": MANIFEST_MUTATIONS, "folder": FOLDER_MUTATIONS}


# ------------------------------------------------------------------------------ a case


@st.composite
def cases(draw, period: str | None = None, insurer: str | None = None, families=FAMILIES) -> Case:
    """A clean delivery, up to three tolerated variations, and one mutation of a family."""
    draft = draw(base_drafts(period, insurer))
    words = [
        VARIATIONS[v](draw, draft) for v in draw(st.lists(st.sampled_from(sorted(VARIATIONS)), unique=True, max_size=3))
    ]
    family = draw(st.sampled_from(families))
    if family == "harmless":
        expectation = Expectation(HARMLESS)
    else:
        if family == "value":
            did, expectation = _value(draw, draft)
        else:
            kind = draw(st.sampled_from(sorted(MUTATIONS[family])))
            did, expectation = MUTATIONS[family][kind](draw, draft)
            family = f"{family}.{kind}"
        words.insert(0, did)
    expected_rows = typed_rows(draft.rows) if expectation.kind in (HARMLESS, VALUE_CHANGE) else None
    return Case(draft, words or ["no mutation"], expectation, expected_rows, family)
