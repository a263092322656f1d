"""The claim lines of a year: sessions exploded from the episodes in fixed-size chunks,
with the claim noise, into a scratch DuckDB table."""

from __future__ import annotations

from datetime import date

import numpy as np

from orchestration.commands.synthetic.population import Episodes, Population, draw_episodes
from orchestration.commands.synthetic.shape import (
    CHUNK_EPISODES,
    CLAIM_NO_MASK,
    CLAIM_NO_MULTIPLIER,
    EXTRA_SLOTS,
    P_DUPLICATE,
    P_MISSED,
    P_ORPHAN,
    P_PARTIAL_CREDIT,
    P_REJECTED,
    P_REPORT,
    P_SURCHARGE,
    SLOT_NEVER_DELIVERED,
    TARIFF_TABLE,
    Progress,
)

# --------------------------------------------------------------------------- claim lines


def _claim_no(episode: np.ndarray, slot: np.ndarray, year: int) -> np.ndarray:
    key = episode.astype(np.uint64) * np.uint64(128) + slot.astype(np.uint64)
    scrambled = (key * CLAIM_NO_MULTIPLIER) & CLAIM_NO_MASK
    return (scrambled ^ np.uint64((year * 2_654_435_761) & ((1 << 40) - 1))).astype(np.int64)


def _lag_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Processing lag: mostly weeks, some months, a long tail (what makes v1 hold less of June)."""
    u, v = rng.random(n), rng.random(n)
    return np.where(u < 0.85, 5 + 30 * v, np.where(u < 0.97, 35 + 45 * v, 80 + 140 * v)).astype(np.int32)


def _weekday(day: np.ndarray) -> np.ndarray:
    return (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday


def _chunk_lines(pop: Population, eps: Episodes, lo: int, hi: int) -> dict[str, np.ndarray]:
    """The claim lines of episodes [lo, hi): sessions, screening, and the extra lines."""
    rng = np.random.default_rng([pop.seed, eps.year, 2, lo // CHUNK_EPISODES])
    year_start = (date(eps.year, 1, 1) - date(1970, 1, 1)).days
    year_end = (date(eps.year, 12, 31) - date(1970, 1, 1)).days
    ep_ids = np.arange(lo, hi)
    counts = eps.sessions[lo:hi].astype(np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ep = np.repeat(ep_ids, counts)
    k = np.arange(len(ep)) - np.repeat(first, counts)
    gaps = np.where(k == 0, 0, np.maximum(1, np.round(eps.gap_mean[ep] * rng.gamma(3.0, 1 / 3.0, size=len(ep)))))
    cum = np.cumsum(gaps)
    day = year_start + eps.start_day[ep].astype(np.int64) + cum - np.repeat(cum[first], counts)
    # no sessions at the weekend: to the Monday after, or the Friday before at the year end
    dow = _weekday(day)
    later = day + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    day = np.where(later <= year_end, later, day - np.where(dow == 5, 1, np.where(dow == 6, 2, 0)))
    kept = (day >= year_start) & (day <= year_end)
    kept_per_episode = np.bincount(ep[kept] - lo, minlength=hi - lo)
    before_year = np.bincount(ep[day < year_start] - lo, minlength=hi - lo)
    first_kept = first + before_year  # index of the episode's first session this year
    # "processing": when the insurer processed the line; a credit 10 to 120 days after the
    # line it reverses ("after_previous": after the duplicate listed just before it)
    lines = [
        {
            "ep": ep[kept],
            "slot": (k[kept] + 1).astype(np.int16),
            "day": day[kept],
            "code": eps.session_code[ep[kept]],
            "sign": np.ones(int(kept.sum()), dtype=np.int8),
            "orig_slot": np.full(int(kept.sum()), -1, dtype=np.int16),
            "processing": "normal",
        }
    ]

    # screening opens an episode: only for episodes whose first session is in this year
    scr = ep_ids[eps.screening[lo:hi] & (before_year == 0) & (kept_per_episode > 0)]
    scr_code = np.where(eps.oefen[scr], 2864, np.where(rng.random(len(scr)) < 0.8, 1864, 1870)).astype(np.int16)
    lines.append(
        {
            "ep": scr,
            "slot": np.zeros(len(scr), dtype=np.int16),
            "day": day[first_kept[scr - lo]],
            "code": scr_code,
            "sign": np.ones(len(scr), dtype=np.int8),
            "orig_slot": np.full(len(scr), -1, dtype=np.int16),
            "processing": "normal",
        }
    )

    u = eps.extra_u[lo:hi]
    oefen = eps.oefen[lo:hi]
    child = eps.age_band[lo:hi] == 0
    probabilities = {
        "rejected": np.full(hi - lo, P_REJECTED),
        "duplicate": np.full(hi - lo, P_DUPLICATE),
        "partial": np.full(hi - lo, P_PARTIAL_CREDIT),
        "surcharge": np.full(hi - lo, P_SURCHARGE),
        "missed": np.where(oefen, 0.0, P_MISSED),
        "report": np.where(child, P_REPORT[1], P_REPORT[0]),
        "orphan": np.full(hi - lo, P_ORPHAN),
    }
    columns = {name: i for i, name in enumerate(EXTRA_SLOTS)}
    for name, p in probabilities.items():
        uu = u[:, columns[name]]
        present = np.flatnonzero((uu < p) & (kept_per_episode > 0))
        if not len(present):
            continue
        # given presence, uu / p is uniform: it also picks the session the line refers to
        j = np.minimum(
            (uu[present] / p[present] * kept_per_episode[present]).astype(np.int64), kept_per_episode[present] - 1
        )
        ref_day = day[first_kept[present] + j]
        eps_abs = present + lo
        code = eps.session_code[eps_abs]
        sign = np.ones(len(present), dtype=np.int8)
        orig = np.full(len(present), -1, dtype=np.int16)
        if name == "surcharge":
            code = np.where(oefen[present], 2900, 1900).astype(np.int16)
        elif name == "missed":
            code = np.full(len(present), 1950, dtype=np.int16)
        elif name == "report":
            code = np.where(oefen[present], 2510, 1105).astype(np.int16)
        elif name == "rejected":
            sign = np.zeros(len(present), dtype=np.int8)
        elif name == "partial":
            sign = np.full(len(present), -3, dtype=np.int8)  # -30 % of the tariff
            orig = (before_year[present] + j + 1).astype(np.int16)
        elif name == "orphan":
            sign = np.full(len(present), -10, dtype=np.int8)
            orig = np.full(len(present), SLOT_NEVER_DELIVERED, dtype=np.int16)
        lines.append(
            {
                "ep": eps_abs,
                "slot": np.full(len(present), EXTRA_SLOTS[name], dtype=np.int16),
                "day": ref_day,
                "code": code,
                "sign": sign,
                "orig_slot": orig,
                "processing": "credit" if name in ("partial", "orphan") else "normal",
            }
        )
        if name == "duplicate":  # its credit, processed weeks after the duplicate
            lines.append(
                {
                    "ep": eps_abs,
                    "slot": np.full(len(present), EXTRA_SLOTS["credit"], dtype=np.int16),
                    "day": ref_day,
                    "code": code,
                    "sign": np.full(len(present), -10, dtype=np.int8),
                    "orig_slot": np.full(len(present), EXTRA_SLOTS["duplicate"], dtype=np.int16),
                    "processing": "after_previous",
                }
            )

    processed_parts, previous_lag = [], None
    for part in lines:
        lag = _lag_days(rng, len(part["ep"]))
        if part["processing"] == "after_previous":
            lag = previous_lag + rng.integers(10, 121, size=len(lag))
        elif part["processing"] == "credit":
            lag = lag + rng.integers(10, 121, size=len(lag))
        previous_lag = lag
        processed_parts.append(part["day"] + lag)
    cat = {key: np.concatenate([p[key] for p in lines]) for key in ("ep", "slot", "day", "code", "sign", "orig_slot")}
    cat["processed"] = np.concatenate(processed_parts)
    order = np.lexsort((cat["slot"], cat["ep"]))
    cat = {key: value[order] for key, value in cat.items()}
    return _line_columns(pop, eps, cat, rng)


def born_before(birth_day: np.ndarray, year_start: int) -> np.ndarray:
    """Birth days moved back by whole 365-day steps until they lie before ``year_start``.

    The pool's ages are drawn around 1 July 2024 and the pool serves every year, so its
    youngest patients would otherwise be "treated" in a year before they were born, a
    delivery no insurer can send (delivery-contract.md, plausibility of birth dates).
    A patient born before the year keeps their birth date; the others stay babies (the
    age band 0-17, as drawn)."""
    steps = np.where(birth_day >= year_start, (birth_day - year_start) // 365 + 1, 0)
    return (birth_day - 365 * steps).astype(np.int32)


def _line_columns(
    pop: Population, eps: Episodes, cat: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    ep, slot, day, code, sign = cat["ep"], cat["slot"], cat["day"], cat["code"], cat["sign"]
    year_start = (date(eps.year, 1, 1) - date(1970, 1, 1)).days
    practice = eps.practice[ep]
    tariff = np.round(TARIFF_TABLE[code] * pop.tariff_factor[practice]).astype(np.int64)
    claimed = np.where(sign < 0, np.where(sign == -3, -np.round(tariff * 0.3), -tariff), tariff).astype(np.int64)
    paid = np.where(sign == 0, 0, claimed).astype(np.int64)
    insurer = np.where(day - year_start >= eps.switch_day[ep], eps.switch_to[ep], eps.insurer[ep]).astype(np.int8)
    patient = eps.patient[ep]
    age_band = eps.age_band[ep]
    coverage = np.where((age_band == 0) | eps.chronic[ep], 0, 1).astype(np.int8)  # 0 BV, 1 AV
    orig = np.where(cat["orig_slot"] >= 0, _claim_no(ep, np.maximum(cat["orig_slot"], 0), eps.year), -1)
    return {
        "claim_no": _claim_no(ep, slot, eps.year),
        "orig_no": orig.astype(np.int64),
        "insurer": insurer,
        "practice_agb": pop.practice_agb[practice],
        "therapist_agb": eps.therapist_agb[ep],
        "patient_no": patient.astype(np.int32),
        "birth_day": born_before(pop.birth_day[patient], year_start),
        "sex": pop.sex[patient],
        "service_day": day.astype(np.int32),
        "code_list": np.where(eps.oefen[ep], 74, 73).astype(np.int8),
        "prestatie": code.astype(np.int16),
        "dcsph": eps.dcsph[ep],
        "indication": eps.indication[ep],
        "coverage": coverage,
        "claimed": claimed,
        "paid": paid,
        "processed_day": cat["processed"].astype(np.int32),
        "r": rng.random(len(ep), dtype=np.float32),
    }


LINE_TABLE_SQL = """
create or replace table lines (
    claim_no bigint, orig_no bigint, insurer tinyint, practice_agb bigint, therapist_agb bigint,
    patient_no integer, birth_date date, sex tinyint, service_date date, code_list tinyint,
    prestatie smallint, dcsph smallint, indication tinyint, coverage tinyint, claimed bigint,
    paid bigint, processed_date date, r float)
"""


def load_year(con, pop: Population, year: int, progress: Progress) -> int:
    """Every claim line of ``year`` into the table ``lines`` of the scratch database."""
    import pyarrow as pa

    eps = draw_episodes(pop, year)
    progress(
        f"  {year}: {len(eps):,} episodes of {len(np.unique(eps.patient)):,} patients at {pop.practices:,} practices"
    )
    con.execute(LINE_TABLE_SQL)
    total = 0
    for lo in range(0, len(eps), CHUNK_EPISODES):
        cols = _chunk_lines(pop, eps, lo, min(lo + CHUNK_EPISODES, len(eps)))
        arrays = {name: pa.array(values) for name, values in cols.items()}
        for name in ("birth_day", "service_day", "processed_day"):
            arrays[name] = pa.array(cols[name], type=pa.int32()).cast(pa.date32())
        chunk = pa.table(arrays)  # noqa: F841  (scanned by DuckDB below)
        con.execute("insert into lines select * from chunk")
        total += chunk.num_rows
    return total
