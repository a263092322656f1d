"""The release calendar: every period's state, derived from what the platform has and published.

Nothing here is typed by hand twice. A period's state comes from

- ``releases/<period>/r<N>/`` (and ``archive/<period>/r<N>/`` once a period is archived):
  published, with the date of each revision from its ``release.json``;
- ``releases/_status/<period>.json``, the readiness verdict the platform writes each time
  it judges a period (``orchestration/release/calendar_state.py``): only ``blocked`` or
  ``ready``, never an insurer's name;
- ``landing/<period>/``: whether deliveries for the period arrived (the names of the
  period folders only; nothing inside a delivery is read);
- the cancelled versions (method.md §11, ``orchestration.core.seeds.cancelled_periods``);
- the periods seed, the configured schedule (``portal.public.conf``) and the operators'
  ``PeriodNotice`` (another planned date, the text shown when late).

States (portal.md, "Release calendar and notices"): *gepubliceerd* once a revision
exists; else *vervallen* for a cancelled period, with its reason; else *uitgesteld* when
the planned date has passed; else *in voorbereiding*. An insurer is blamed (without a
name) only where deliveries were expected: the period has deliveries in ``landing/`` or
a readiness verdict. A late period without either says that the data has not been
delivered yet.

Which periods: from the first period the platform expects (the first with a delivery, a
verdict or a release, or ``SPIEGEL_CALENDAR_FIRST_PERIOD`` if earlier) up to and including
the next period whose planned date is still ahead; periods before that first one are not
shown.

:func:`gather` reads the files; :func:`build_calendar` and the functions it calls are pure
(the page, the home page and a later API share them).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from orchestration.core.calendar import default_planned_date
from orchestration.core.seeds import PeriodInfo, cancelled_periods, period_sort_key
from orchestration.core.seeds import periods as seed_periods
from orchestration.core.settings import SpiegelPaths
from portal.public import conf
from portal.releases import catalog
from reports import labels

log = logging.getLogger(__name__)

STATUS_DIR_NAME = "_status"  # orchestration.calendar_status.STATUS_DIR_NAME
PERIOD_RE = re.compile(r"^[0-9]{4}-v[1-3]$")

STATE_PREPARING = "voorbereiding"
STATE_PUBLISHED = "gepubliceerd"
STATE_POSTPONED = "uitgesteld"
STATE_CANCELLED = "vervallen"
STATE_LABELS = {
    STATE_PREPARING: "In voorbereiding",
    STATE_PUBLISHED: "Gepubliceerd",
    STATE_POSTPONED: "Uitgesteld",
    STATE_CANCELLED: "Vervallen",
}

# why a period is late (CalendarEntry.postponement)
LATE_OPERATOR_TEXT = "operator_text"  # the operators wrote the text
LATE_INSURER_DATA = "insurer_data"  # deliveries or a verdict exist, and not every insurer's data is in order
LATE_FINAL_CHECKS = "final_checks"  # the verdict is ready: only the last checks remain
LATE_NOT_DELIVERED = "not_delivered"  # no delivery and no verdict: nothing to blame anyone for

DEFAULT_POSTPONED_TEXT = (
    "De publicatie is uitgesteld: de gegevens van een van de zorgverzekeraars konden nog niet worden "
    "gegarandeerd. Zodra alle gegevens compleet en gecontroleerd zijn, publiceren wij deze versie en "
    "melden wij de nieuwe datum hier."
)
READY_POSTPONED_TEXT = (
    "De publicatie is uitgesteld. De gegevens van alle zorgverzekeraars zijn inmiddels compleet; na de "
    "laatste controle volgt de publicatie zo spoedig mogelijk."
)
NOT_DELIVERED_TEXT = (
    "De gegevens voor deze versie zijn nog niet aangeleverd. Zodra ze binnen en gecontroleerd zijn, "
    "publiceren wij deze versie en melden wij de nieuwe datum hier."
)
LATE_REMARK_DAYS = 30  # a publication more than this many days after its planned date says so


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
    notice: str = ""  # the text shown for a late period (uitgesteld)
    verdict: str | None = None  # the platform's readiness verdict, if it wrote one
    postponement: str = ""  # why it is late: one of the LATE_* codes, for uitgesteld only
    has_deliveries: bool = False  # landing/<period>/ exists
    cancelled_reason: str = ""
    cancelled_on: date | None = None
    days_late: int = 0  # of the first publication, after the planned date (0 when on time or early)
    late_by: str = ""  # the same in words ("3 maanden") when over LATE_REMARK_DAYS, else ""

    @property
    def label(self) -> str:
        """One period label everywhere: the reports' and the practice page's (reports.labels)."""
        return labels.period_label(self.period)

    @property
    def span(self) -> str:
        return f"behandeldatums {labels.VERSION_MONTHS[self.version]} {self.year}"

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


@dataclass(frozen=True)
class CalendarInputs:
    """Everything the calendar is derived from, read once per request (:func:`gather`)."""

    periods: dict[str, PeriodInfo]
    revisions: dict[str, list[PublishedRevision]]  # only periods with at least one
    verdicts: dict[str, str]  # period -> blocked/ready
    delivered: frozenset[str]  # periods with a landing/<period>/ folder
    cancelled: dict[str, tuple[str, date | None]]  # period -> (reason, decided on)
    planned_overrides: dict[str, date]
    notice_texts: dict[str, str]
    schedule: dict[int, tuple[int, int]]  # version -> (month, day)
    first_period: str | None = None


# -- pure ---------------------------------------------------------------------------------
def months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months


def late_words(planned: date, published: date) -> str:
    """How late a publication was, in words, when more than LATE_REMARK_DAYS; else ''."""
    days = (published - planned).days
    if days <= LATE_REMARK_DAYS:
        return ""
    months = max(1, months_between(planned, published))  # over 30 days is at least a month
    return "1 maand" if months == 1 else f"{months} maanden"


def schedule_text(schedule: dict[int, tuple[int, int]], periods: dict[str, PeriodInfo] | None = None) -> str:
    """The default schedule in a sentence: 'versie 1 op 15 oktober van hetzelfde jaar, ...'."""
    periods = periods if periods is not None else seed_periods()
    parts = []
    for version in (1, 2, 3):
        sample = next((p for p in periods.values() if p.version == version), None)
        month, day = schedule[version]
        when = f"{day} {labels.MONTHS[month - 1]}"
        if sample is not None:
            same_year = default_planned_date(sample, schedule).year == sample.year
            when += " van hetzelfde jaar" if same_year else " van het volgende jaar"
        parts.append(f"versie {version} op {when}")
    return f"{parts[0]}, {parts[1]} en {parts[2]}"


def planned_for(period: str, inputs: CalendarInputs) -> date:
    override = inputs.planned_overrides.get(period)
    return override or default_planned_date(inputs.periods[period], inputs.schedule)


def shown_periods(inputs: CalendarInputs, today: date) -> list[str]:
    """The periods the calendar lists, oldest first (see the module's docstring): from the
    first expected period up to the period after the last one whose planned date has come."""
    ordered = sorted(inputs.periods, key=period_sort_key)
    if not ordered:
        return []
    with_files = {p for p in (*inputs.revisions, *inputs.verdicts, *inputs.delivered) if p in inputs.periods}
    starts = set(with_files)
    if inputs.first_period in inputs.periods:
        starts.add(inputs.first_period)
    due = [i for i, p in enumerate(ordered) if planned_for(p, inputs) < today]  # on the day: still ahead
    upcoming = min(due[-1] + 1, len(ordered) - 1) if due else 0  # every period after it lies ahead
    if not starts:
        return [ordered[upcoming]]
    first = ordered.index(min(starts, key=period_sort_key))
    chosen = set(ordered[first : max(upcoming, first) + 1]) | with_files
    return sorted(chosen, key=period_sort_key)


def entry_for(period: str, inputs: CalendarInputs, today: date) -> CalendarEntry:
    """One period's state and texts."""
    info = inputs.periods[period]
    planned = planned_for(period, inputs)
    revisions = inputs.revisions.get(period, [])
    verdict = inputs.verdicts.get(period)
    delivered = period in inputs.delivered
    entry = CalendarEntry(
        period,
        info.year,
        info.version,
        date.fromisoformat(info.cutoff_date),
        planned,
        STATE_PREPARING,
        list(revisions),
        verdict=verdict,
        has_deliveries=delivered,
    )
    if revisions:
        entry.state = STATE_PUBLISHED
        published = revisions[0].published_on
        if published is not None:
            entry.days_late = max(0, (published - planned).days)
            entry.late_by = late_words(planned, published)
    elif period in inputs.cancelled:
        entry.state = STATE_CANCELLED
        entry.cancelled_reason, entry.cancelled_on = inputs.cancelled[period]
    elif today > planned:
        entry.state = STATE_POSTPONED
        operators = inputs.notice_texts.get(period, "").strip()
        if operators:
            entry.postponement, entry.notice = LATE_OPERATOR_TEXT, operators
        elif verdict == "ready":
            entry.postponement, entry.notice = LATE_FINAL_CHECKS, READY_POSTPONED_TEXT
        elif delivered or verdict is not None:
            entry.postponement, entry.notice = LATE_INSURER_DATA, DEFAULT_POSTPONED_TEXT
        else:
            entry.postponement, entry.notice = LATE_NOT_DELIVERED, NOT_DELIVERED_TEXT
    return entry


def build_calendar(inputs: CalendarInputs, today: date) -> list[CalendarEntry]:
    """The calendar's entries, newest first."""
    entries = [entry_for(p, inputs, today) for p in shown_periods(inputs, today)]
    return sorted(entries, key=lambda e: (e.year, e.version), reverse=True)


# -- reading the files --------------------------------------------------------------------
def status_dir() -> Path:
    return Path(settings.RELEASES_DIR) / STATUS_DIR_NAME


def archive_dir() -> Path:
    return Path(settings.DATA_DIR) / "archive"


def landing_dir() -> Path:
    return SpiegelPaths(Path(settings.DATA_DIR)).landing


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


def _period_folders(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {p.name for p in root.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)}


def _verdicts() -> dict[str, str]:
    if not status_dir().is_dir():
        return {}
    found = {}
    for path in status_dir().glob("*.json"):
        verdict = read_verdict(path.stem)
        if verdict is not None:
            found[path.stem] = verdict
    return found


def _cancelled() -> dict[str, tuple[str, date | None]]:
    try:
        found = cancelled_periods(SpiegelPaths(Path(settings.DATA_DIR)))
    except ValueError as exc:
        # the method refuses such a configuration itself; the public pages stay up and say
        # nothing they cannot back
        log.error("calendar: the cancelled periods are unreadable, none shown: %s", exc)
        return {}
    result = {}
    for period, item in found.items():
        try:
            decided = date.fromisoformat(item.decided_on)
        except (TypeError, ValueError):
            decided = None
        result[period] = (item.reason, decided)
    return result


def gather() -> CalendarInputs:
    from portal.public.models import PeriodNotice

    known = seed_periods()
    notices = list(PeriodNotice.objects.all())
    candidates = (_period_folders(Path(settings.RELEASES_DIR)) | _period_folders(archive_dir())) & set(known)
    revisions = {p: revs for p in candidates if (revs := published_revisions(p))}
    return CalendarInputs(
        periods=known,
        revisions=revisions,
        verdicts={p: v for p, v in _verdicts().items() if p in known},
        delivered=frozenset(_period_folders(landing_dir()) & set(known)),
        cancelled=_cancelled(),
        planned_overrides={n.period: n.planned_date for n in notices if n.planned_date},
        notice_texts={n.period: n.postponement_text for n in notices if n.postponement_text.strip()},
        schedule={v: conf.planned_month_day(v) for v in (1, 2, 3)},
        first_period=conf.calendar_first_period(),
    )


def planned_date(period: str, overrides: dict[str, date] | None = None) -> date:
    """The operators' date for ``period`` if they set one, else the configured schedule's."""
    if overrides and overrides.get(period):
        return overrides[period]
    schedule = {v: conf.planned_month_day(v) for v in (1, 2, 3)}
    return default_planned_date(seed_periods()[period], schedule)


def default_schedule_text() -> str:
    """The configured default schedule in words, for the calendar and the FAQ."""
    return schedule_text({v: conf.planned_month_day(v) for v in (1, 2, 3)})


def calendar(today: date | None = None) -> list[CalendarEntry]:
    """The calendar as of ``today`` (default: today in the portal's time zone), newest first."""
    return build_calendar(gather(), today or timezone.localdate())
