"""The release calendar: every period's state, derived from what the platform published.

Nothing here is typed by hand twice. A period's state comes from

- ``releases/<period>/r<N>/`` (and ``archive/<period>/r<N>/`` once a period is archived):
  published, with the date of each revision from its ``release.json``;
- ``releases/_status/<period>.json``, the readiness verdict the platform writes each time
  it judges a period (``orchestration/release/calendar_state.py``): only ``blocked`` or
  ``ready``, never an insurer's name;
- the periods seed (``dbt_project/seeds/periods.csv``) for the cutoff dates, and the
  operators' ``PeriodNotice`` for another planned date or the text shown when late.

States (portal.md, "Release calendar and notices"): *gepubliceerd* once a revision
exists; else *uitgesteld* when the planned date has passed; else *in voorbereiding*.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from orchestration.core.seeds import periods as seed_periods
from portal.public import conf
from portal.releases import catalog

STATUS_DIR_NAME = "_status"  # orchestration.calendar_status.STATUS_DIR_NAME
PERIOD_RE = re.compile(r"^[0-9]{4}-v[1-3]$")

STATE_PREPARING = "voorbereiding"
STATE_PUBLISHED = "gepubliceerd"
STATE_POSTPONED = "uitgesteld"
STATE_LABELS = {STATE_PREPARING: "In voorbereiding", STATE_PUBLISHED: "Gepubliceerd", STATE_POSTPONED: "Uitgesteld"}

DEFAULT_POSTPONED_TEXT = (
    "De publicatie is uitgesteld: de gegevens van een van de zorgverzekeraars konden nog niet worden "
    "gegarandeerd. Zodra alle gegevens compleet en gecontroleerd zijn, publiceren wij deze versie en "
    "melden wij de nieuwe datum hier."
)
READY_POSTPONED_TEXT = (
    "De publicatie is uitgesteld. De gegevens van alle zorgverzekeraars zijn inmiddels compleet; na de "
    "laatste controle volgt de publicatie zo spoedig mogelijk."
)
VERSION_SPANS = {1: "januari t/m juni", 2: "januari t/m september", 3: "het hele jaar"}


@dataclass(frozen=True)
class PublishedRevision:
    revision: str
    published_on: date | None
    archived: bool = False


@dataclass
class CalendarEntry:
    period: str
    year: int
    version: int
    cutoff: date
    planned: date
    state: str
    revisions: list[PublishedRevision] = field(default_factory=list)
    notice: str = ""
    verdict: str | None = None  # the platform's readiness verdict, if it wrote one

    @property
    def label(self) -> str:
        return f"{self.year} versie {self.version}"

    @property
    def span(self) -> str:
        return f"behandelingen {VERSION_SPANS[self.version]} {self.year}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def first(self) -> PublishedRevision | None:
        return self.revisions[0] if self.revisions else None

    @property
    def corrections(self) -> list[PublishedRevision]:
        return self.revisions[1:]

    @property
    def newest(self) -> PublishedRevision | None:
        return self.revisions[-1] if self.revisions else None


def status_dir() -> Path:
    return Path(settings.RELEASES_DIR) / STATUS_DIR_NAME


def archive_dir() -> Path:
    return Path(settings.DATA_DIR) / "archive"


def read_verdict(period: str) -> str | None:
    """``blocked``/``ready`` from the platform's status file, or None (none written, unreadable)."""
    if not PERIOD_RE.match(period):
        return None
    try:
        data = json.loads((status_dir() / f"{period}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    verdict = data.get("verdict") if isinstance(data, dict) else None
    return verdict if verdict in ("blocked", "ready") else None


def _local_date(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.utc)
    return timezone.localtime(moment).date()


def _archived_revisions(period: str) -> list[PublishedRevision]:
    folder = archive_dir() / period
    if not PERIOD_RE.match(period) or not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        if (
            child.is_dir()
            and not child.is_symlink()
            and catalog.REVISION_RE.match(child.name)
            and (child / "release.json").is_file()
        ):
            found.append(
                (
                    int(child.name[1:]),
                    PublishedRevision(child.name, _local_date(catalog._published_at(child)), archived=True),
                )
            )
    return [rev for _, rev in sorted(found, key=lambda pair: pair[0])]


def published_revisions(period: str) -> list[PublishedRevision]:
    """Every revision of ``period``, in releases/ or archived, oldest first."""
    current = [PublishedRevision(r.revision, _local_date(r.published_at)) for r in catalog.revisions(period)]
    archived = _archived_revisions(period)
    merged = {r.revision: r for r in archived}
    merged.update({r.revision: r for r in current})
    return sorted(merged.values(), key=lambda r: int(r.revision[1:]))


def _periods_with_files() -> set[str]:
    found: set[str] = set()
    for root in (Path(settings.RELEASES_DIR), archive_dir()):
        if root.is_dir():
            found |= {p.name for p in root.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)}
    if status_dir().is_dir():
        found |= {p.stem for p in status_dir().glob("*.json") if PERIOD_RE.match(p.stem)}
    return found


def planned_date(period: str, overrides: dict[str, date] | None = None) -> date:
    """The operators' date for ``period`` if they set one, else its cutoff plus the configured weeks."""
    if overrides and overrides.get(period):
        return overrides[period]
    cutoff = date.fromisoformat(seed_periods()[period].cutoff_date)
    return cutoff + timedelta(weeks=conf.planned_weeks())


def calendar(today: date | None = None) -> list[CalendarEntry]:
    """Every period of the last two years and the next one, plus any period the platform
    has published or judged; newest first."""
    from portal.public.models import PeriodNotice

    today = today or timezone.localdate()
    notices = {n.period: n for n in PeriodNotice.objects.all()}
    overrides = {p: n.planned_date for p, n in notices.items() if n.planned_date}
    known = seed_periods()
    two_years_ago = (
        today.replace(year=today.year - 2)
        if not (today.month == 2 and today.day == 29)
        else today.replace(year=today.year - 2, day=28)
    )

    chosen: set[str] = set()
    upcoming = []
    for period in known:
        planned = planned_date(period, overrides)
        if two_years_ago <= planned <= today:
            chosen.add(period)
        elif planned > today:
            upcoming.append((planned, period))
    if upcoming:
        chosen.add(min(upcoming)[1])
    chosen |= {p for p in _periods_with_files() if p in known}

    entries = []
    for period in chosen:
        info = known[period]
        planned = planned_date(period, overrides)
        revisions = published_revisions(period)
        verdict = read_verdict(period)
        notice = notices.get(period)
        if revisions:
            state, text = STATE_PUBLISHED, ""
        elif today > planned:
            state = STATE_POSTPONED
            if notice and notice.postponement_text.strip():
                text = notice.postponement_text.strip()
            elif verdict == "ready":
                text = READY_POSTPONED_TEXT
            else:
                text = DEFAULT_POSTPONED_TEXT
        else:
            state, text = STATE_PREPARING, ""
        entries.append(
            CalendarEntry(
                period,
                info.year,
                info.version,
                date.fromisoformat(info.cutoff_date),
                planned,
                state,
                revisions,
                text,
                verdict,
            )
        )
    return sorted(entries, key=lambda e: (e.year, e.version), reverse=True)
