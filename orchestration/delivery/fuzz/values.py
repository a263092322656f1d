"""The building blocks of the generated cases: values of every kind for every column of
the contract, and the names, dates, amounts and JSON values the mutations draw from."""

from __future__ import annotations

import string
from datetime import date

from hypothesis import strategies as st

from orchestration.core.seeds import insurers, periods
from orchestration.delivery.contract.rules import AMOUNT_COLUMNS, CLAIM_COLUMNS, DATE_COLUMNS
from orchestration.delivery.fuzz.model import Draft, Expectation

ID_ALPHABET = string.ascii_letters + string.digits + "-_./"
HEX = "0123456789abcdef"
Mutated = tuple[str, Expectation]  # what was done, and what the contract must do


def all_periods() -> list[str]:
    return sorted(periods())


def all_insurers() -> list[str]:
    return sorted(i.insurer_id for i in insurers())


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


def cents(low: int = -(10**8), high: int = 10**8) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda c: f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}")


iso_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)


KNOWN_FIELDS = {"contract_version", "insurer", "period", "delivery_id", "period_start", "period_end", "cutoff_date"}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


MARK = "QzFUZZMARKzQ"  # stands in a value for bytes a text cannot hold; replaced after rendering


def wrong_dates() -> st.SearchStrategy[str]:
    return st.one_of(
        iso_dates.map(lambda t: f"{t[8:]}-{t[5:7]}-{t[:4]}"),  # day first
        iso_dates.map(lambda t: t.replace("-", "/")),
        iso_dates.map(lambda t: t.replace("-", "")),
        iso_dates.map(lambda t: t + "T10:00:00"),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),  # month 13, day 32, Feb 30 ...
        st.from_regex(r"[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
    )


def wrong_amounts() -> st.SearchStrategy[str]:
    return st.one_of(
        cents().map(lambda a: a.replace(".", ",")),
        cents().map(lambda a: a.split(".")[0]),
        cents().map(lambda a: a + "0"),
        cents().map(lambda a: "EUR " + a),
        cents().map(lambda a: "+" + a.lstrip("-")),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.from_regex(r"-?[0-9]{15,19}\.[0-9]{2}", fullmatch=True),
        st.from_regex(r"-?[0-9]{0,3}\.[0-9]{0,3}", fullmatch=True),
    )


def well_formed(column: str) -> st.SearchStrategy[str]:
    if column in DATE_COLUMNS:
        return st.one_of(iso_dates, st.dates().map(date.isoformat))
    if column in AMOUNT_COLUMNS:
        return st.one_of(cents(), cents(-(10**18) + 1, 10**18 - 1))
    if column == "patient_id":
        return st.binary(min_size=32, max_size=32).map(bytes.hex)
    return st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10)


def column_values(column: str) -> st.SearchStrategy[str]:
    """Values of every kind for ``column``: well formed, wrongly formed, padded, with a
    character a CSV field must quote or a text column should never hold, any Unicode."""
    well = well_formed(column)
    specials = st.sampled_from(["\x00", "\n", "\r", "\r\n", ",", '"', "\t", " ", "\ufeff", "\u00a0", "\u2028", "é"])
    wrong = [st.text(max_size=12), st.sampled_from(["", " ", "\t", "NULL", "null", "N/A", "-", "0"])]
    if column in DATE_COLUMNS:
        wrong.append(wrong_dates())
    if column in AMOUNT_COLUMNS:
        wrong.append(wrong_amounts())
    if column == "patient_id":
        wrong += [
            st.binary(min_size=32, max_size=32).map(lambda b: b.hex().upper()),
            st.text(alphabet=HEX, min_size=60, max_size=70),
            digits(9),  # a BSN
        ]
    return st.one_of(
        well,
        *wrong,
        st.tuples(well, st.sampled_from([" ", "\t", "  "]), st.booleans()).map(
            lambda t: t[1] + t[0] if t[2] else t[0] + t[1]
        ),
        st.tuples(well, specials, st.integers(0, 20)).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]),
    )


def mark(d: Draft, i: int, column: str, at: int | None, raw: bytes) -> None:
    """Put ``raw`` bytes into field (i, column) at character ``at`` (None: replace it)."""
    old = d.rows[i][column]
    d.rows[i][column] = MARK if at is None else old[:at] + MARK + old[at:]
    d.never_quoted.add((i, column))
    d.text_edits.append(lambda text: text.replace(MARK.encode(), raw))


def any_column(draw) -> str:
    """Any column, about evenly: hypothesis leans to the first of a ``sampled_from``."""
    return CLAIM_COLUMNS[draw(st.integers(0, 2**32 - 1)) % len(CLAIM_COLUMNS)]


def any_cell(draw, d: Draft) -> tuple[int, str]:
    return draw(st.integers(0, len(d.rows) - 1)), any_column(draw)


def file_names() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["README.txt", ".DS_Store", "claims.csv.sha256", "Thumbs.db", "claims.CSV", "notes"]),
        st.text(min_size=1, max_size=20).filter(usable_name),
    )


def usable_name(name: str) -> bool:
    return "/" not in name and "\x00" not in name and name not in (".", "..") and len(name.encode()) <= 200
