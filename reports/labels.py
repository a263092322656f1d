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
    sign = "-" if q < 0 else ""  # -0,0 is 0,0
    whole, _, frac = f"{abs(q):f}".partition(".")
    whole = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{whole},{frac}" if frac else f"{sign}{whole}"


def fmt_pct(share: float | None) -> str:
    return "–" if share is None else f"{round_half_up(100 * share)}\u00a0%"


def fmt_trim(value: float | None, max_decimals: int = 6) -> str:
    """A number with as many decimals as it has (at most ``max_decimals``), Dutch: 99.8 ->
    "99,8", 95.0 -> "95", 12500 -> "12.500" (levels, axis ticks)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = fmt_dec(value, max_decimals)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return "0" if text == "-0" else text


def fmt_tick(value: float, step: float | None = None) -> str:
    """An axis tick as a Dutch reader writes it: thousands dots, a decimal comma and no SI
    suffix (10.000, never 10k); decimals only where the tick step needs them (2,5)."""
    decimals = 0
    if step is not None and step > 0:
        while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-9:
            decimals += 1
    return fmt_dec(round(value, 6), decimals) if decimals else fmt_int(value)


def period_key(period: str) -> tuple[int, int]:
    m = _PERIOD.match(period)
    if not m:
        raise ValueError(f"not a period key: {period!r}")
    return int(m.group(1)), int(m.group(2))


def period_label(period: str) -> str:
    year, version = period_key(period)
    months = VERSION_MONTHS.get(version)
    return f"{year} versie {version}" + (f" ({months})" if months else "")


def revision_label(revision: str) -> str:
    """ "r1" -> "revisie 1" (anything else as it is)."""
    m = re.match(r"^r([0-9]+)$", str(revision))
    return f"revisie {m.group(1)}" if m else str(revision)


def release_label(period: str, revision: str) -> str:
    """The release as a practice names it: "2024 versie 3 (januari–december), revisie 1"."""
    return f"{period_label(period)}, {revision_label(revision)}"


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


def date_range_label(first: str, last: str) -> str:
    """Two dates (bounds inclusive) as a sentence says them after "van": "16 maart tot en met
    24 mei 2020" (the year once when both share it), or one date when they are the same."""
    try:
        a, b = datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date()
    except ValueError:
        return f"{first} tot en met {last}"
    if a == b:
        return date_label(first)
    start = f"{a.day} {MONTHS[a.month - 1]}" + (f" {a.year}" if a.year != b.year else "")
    return f"{start} tot en met {date_label(last)}"


MINUS = "\u2212"  # a real minus sign in running text ("−1"), as a Dutch typesetter writes it


def fmt_signed(value: float) -> str:
    """A change in whole points (rounded half up): "+5", "0", "−1"."""
    n = round_half_up(value)
    return ("+" if n > 0 else MINUS if n < 0 else "") + fmt_int(abs(n))


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
        return region_label(c)
    return c


UNKNOWN_REGION = "XX"  # method.md §3: a missing or malformed DCSPH code


def region_names() -> dict[str, str]:
    """DCSPH body-region code -> official name, from the dcsph_regions seed (only the names
    that could be verified; a code without one is shown alone)."""
    try:
        from orchestration.core.seeds import dcsph_region_names

        return dcsph_region_names()
    except Exception:  # reports must not depend on the seeds being present
        return {}


def region_label(code: str, capital: bool = True) -> str:
    """ "Lokalisatie 10: <naam>" (or "Lokalisatie 10" where the seed has no name);
    region XX reads "Onbekende lokalisatie" ("onbekende lokalisatie" inside a sentence)."""
    c = str(code).strip()
    if c.upper() == UNKNOWN_REGION:
        return "Onbekende lokalisatie" if capital else "onbekende lokalisatie"
    name = region_names().get(c)
    return f"Lokalisatie {c}: {name}" if name else f"Lokalisatie {c}"


# national overview: why claim lines were not counted (dbt macro claim_line_exclusion_reason)
EXCLUSION_REASON_LABEL = {
    "code_list_not_073_074": "geen fysio- of oefentherapie (codelijst niet 073 of 074)",
    "prestatie_code_unknown": "onbekende prestatiecode",
    "prestatie_not_session": "geen behandeling (screening, intake, toeslag, verslag)",
    "coverage_not_bv_av": "niet uit de basis- of aanvullende verzekering",
    "service_date_outside_period": "behandeldatum buiten de periode",
    "processed_after_cutoff": "verwerkt na de afsluitdatum",
    "exclusion_window": "behandeldatum in een uitgesloten tijdvak",
    "rejected_zero_paid": "afgewezen (betaald bedrag 0)",
    "orphan_credit": "creditering zonder bijbehorende declaratie",
    "credit_line": "creditering",
    "fully_credited": "volledig gecrediteerd",
    "implausible_birth_date": "onwaarschijnlijke geboortedatum",
}


def exclusion_reason_label(reason: str) -> str:
    return EXCLUSION_REASON_LABEL.get(str(reason), str(reason))


VERDICT_LABEL = {"pass": "geslaagd", "passed": "geslaagd", "blocked": "geblokkeerd", "failed": "niet geslaagd"}


def verdict_label(verdict: str | None) -> str:
    return "–" if not verdict else VERDICT_LABEL.get(str(verdict).lower(), str(verdict))


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
