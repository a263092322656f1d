"""How a report says things in Dutch: numbers (whole index points rounded half up,
decimals, percentages), periods, dates, insurer names and the labels of the case-mix
categories. One place, so the reports and their history say them alike."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DISCIPLINES = ("fysiotherapie", "oefentherapie")


DISCIPLINE_LABEL = {"fysiotherapie": "Fysiotherapie", "oefentherapie": "Oefentherapie"}


VERSION_MONTHS = {1: "januari–juni", 2: "januari–september", 3: "januari–december"}


MONTHS = [
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


_PERIOD = re.compile(r"^([0-9]{4})-v([0-9]+)$")


# -- formatting (Dutch) ---------------------------------------------------------------
def round_half_up(value: float) -> int:
    """Whole number as people expect it (118.5 -> 119), from the value's decimal text."""
    return int(Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fmt_int(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{round_half_up(value):,}".replace(",", ".")


def fmt_dec(value: float | None, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    q = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    whole, _, frac = f"{q:f}".partition(".")
    whole = f"{int(whole):,}".replace(",", ".") if whole not in ("-0",) else "0"
    return f"{whole},{frac}" if frac else whole


def fmt_pct(share: float | None) -> str:
    return "–" if share is None else f"{round_half_up(100 * share)}\u00a0%"


def period_key(period: str) -> tuple[int, int]:
    m = _PERIOD.match(period)
    if not m:
        raise ValueError(f"not a period key: {period!r}")
    return int(m.group(1)), int(m.group(2))


def period_label(period: str) -> str:
    year, version = period_key(period)
    months = VERSION_MONTHS.get(version)
    return f"{year} versie {version}" + (f" ({months})" if months else "")


def period_short(period: str) -> str:
    year, version = period_key(period)
    return f"{year} v{version}"


def date_label(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        d = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def insurer_names(ids: list[str]) -> list[str]:
    try:
        from orchestration.core.seeds import insurers

        names = {i.insurer_id: i.insurer_name for i in insurers()}
    except Exception:  # reports must not depend on the seeds being present
        names = {}
    return [names.get(i) or i.replace("_", " ").title() for i in ids]


def category_label(dimension: str, category: str) -> str:
    c = str(category)
    if dimension == "sex":
        return {"1": "Man", "M": "Man", "2": "Vrouw", "V": "Vrouw", "F": "Vrouw"}.get(c.upper(), "Onbekend")
    if dimension == "chronic":
        return (
            "Chronisch"
            if c.lower() in ("true", "1", "t", "j", "ja", "y", "yes", "chronic", "chronisch")
            else "Niet-chronisch"
        )
    if dimension == "age_band":
        return c.replace("-", "–") + " jaar"
    if dimension == "body_region":
        return "Onbekend (geen geldige code)" if c.upper() == "XX" else f"Lokalisatie {c}"
    return c


def chronic_flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "t", "j", "ja", "y", "yes", "chronic", "chronisch")


def _category_order(dimension: str, category: str) -> tuple:
    c = str(category)
    if dimension == "age_band":
        m = re.match(r"([0-9]+)", c)
        return (int(m.group(1)) if m else 999, c)
    if dimension == "sex":
        return ({"2": 0, "V": 0, "F": 0, "1": 1, "M": 1}.get(c.upper(), 2), c)
    if dimension == "chronic":
        return (0 if chronic_flag(c) else 1, c)
    return (c.upper() == "XX", c)


def index_with_interval(index: float | str | None, lower: float | str | None, upper: float | str | None) -> str:
    """The behandelindex and its 95 % interval as a practice reads them: whole points,
    e.g. "116 (109–123)" (the method page promises whole numbers; the CSV keeps them all)."""
    return f"{fmt_int(parse_number(index))} ({fmt_int(parse_number(lower))}–{fmt_int(parse_number(upper))})"


def parse_number(value: float | str | None) -> float | None:
    """A figure of a release CSV (empty: none) as a number."""
    if value is None or value == "":
        return None
    return float(value)
