"""The public pages (portal.md, "Stable interfaces"): /, /kalender/, /methode/, /labels/, /vragen/,
/contact/, and the privacy statement /privacy/."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from portal.access import alarms
from portal.access.client_ip import client_ip
from portal.public import calendar as release_calendar
from portal.public import method as method_numbers
from portal.public import privacy as privacy_statement
from portal.public.contact import rate_refusal, store_and_mail
from portal.public.forms import ContactForm
from portal.public.models import NewsItem
from portal.releases import catalog


def _news(limit: int | None = None):
    items = NewsItem.objects.filter(visible=True, published_at__lte=timezone.now())
    return items[:limit] if limit else items


@require_GET
def home(request):
    entries = release_calendar.calendar()
    preparing = [e for e in entries if e.state == release_calendar.STATE_PREPARING]
    published = [e for e in entries if e.state == release_calendar.STATE_PUBLISHED]
    return render(
        request,
        "public/home.html",
        {
            "next_entry": preparing[-1] if preparing else None,  # entries are newest first
            "postponed": [e for e in entries if e.state == release_calendar.STATE_POSTPONED],
            "latest": published[0] if published else None,
            "news": _news(3),
        },
    )


@require_GET
def kalender(request):
    return render(
        request,
        "public/kalender.html",
        {
            "entries": release_calendar.calendar(),
            "news": _news(10),
            "schedule": release_calendar.default_schedule_text(),
        },
    )


@require_GET
def methode(request):
    return render(
        request,
        "public/methode.html",
        {
            "example": method_numbers.worked_example(),
            "downloads": method_numbers.reference_downloads(),
            "windows": method_numbers.left_out_windows(),
            "z": method_numbers.interval_z(),
        },
    )


@require_GET
def reference_table(request, period: str):
    """The newest revision's reference_strata.csv of a published period; the path is built
    from a period that matches the pattern and a revision the catalog found, nothing else."""
    if not catalog.PERIOD_RE.match(period):
        raise Http404
    revision = catalog.newest_revision(period)
    if revision is None:
        raise Http404
    path = revision.file(method_numbers.REFERENCE_FILE)
    if not path.is_file() or path.is_symlink():
        raise Http404
    download = method_numbers.Download(period, revision.revision, None)
    response = FileResponse(
        open(path, "rb"), as_attachment=True, filename=download.filename, content_type="text/csv; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    return response


LABELS_FILE = "labels.csv"  # written by orchestration/release/publish.py since the labels page exists


@dataclass(frozen=True)
class InsurerLabels:
    """One participating insurer (concern) of a release and the labels it declared under."""

    insurer_id: str
    name: str
    labels: list[tuple[str, str]]  # (UZOVI code, label name), in the file's order (by code)


@dataclass(frozen=True)
class ReleaseLabels:
    """A shown release and its insurers; ``insurers`` is None when the release has no labels.csv
    (published before releases recorded their labels): the page says so rather than guessing
    from today's seed, which may have changed since."""

    revision: catalog.Revision
    insurers: list[InsurerLabels] | None

    @property
    def label(self) -> str:
        return catalog.period_label(self.revision.period)


def _release_labels(revision: catalog.Revision) -> ReleaseLabels:
    path = revision.file(LABELS_FILE)
    if not path.is_file() or path.is_symlink():
        return ReleaseLabels(revision, None)
    try:
        rows = catalog.read_csv(revision, LABELS_FILE)
    except (OSError, UnicodeDecodeError, csv.Error):
        return ReleaseLabels(revision, None)
    grouped: dict[str, InsurerLabels] = {}
    for row in rows:
        insurer = (row.get("insurer_id") or "").strip()
        if not insurer or not row.get("uzovi"):
            continue
        entry = grouped.setdefault(insurer, InsurerLabels(insurer, row.get("insurer_name") or insurer, []))
        entry.labels.append((row["uzovi"], row.get("label_name") or ""))
    return ReleaseLabels(revision, list(grouped.values()))


@require_GET
def labels(request):
    """Per shown period (newest first) the insurers that delivered and their labels (UZOVI codes),
    from the release itself: what the index of that version was computed on."""
    return render(
        request, "public/labels.html", {"releases": [_release_labels(rev) for rev in catalog.shown_releases()]}
    )


@require_GET
def vragen(request):
    return render(
        request,
        "public/vragen.html",
        {
            "periods_shown": catalog.PERIODS_SHOWN,
            "schedule": release_calendar.default_schedule_text(),
        },
    )


def user_practices(user) -> list[str]:
    """AGB codes of the practices the logged-in account has approved access to.

    The grants live in ``portal.access`` (the private half:
    ``permissions.viewable_practices``); read defensively, so the contact form still works
    when that part is missing or fails.
    """
    if not getattr(user, "is_authenticated", False):
        return []
    try:
        from portal.access.permissions import viewable_practices
    except ImportError:
        return []
    try:
        found = viewable_practices(user)
    except Exception:  # noqa: BLE001 - the contact form must not fail on the private half
        return []
    agbs = []
    for item in found or []:
        agb = item if isinstance(item, str) else getattr(item, "agb", None) or getattr(item, "practice_agb", None)
        if isinstance(agb, str) and catalog.AGB_RE.match(agb) and agb not in agbs:
            agbs.append(agb)
    return sorted(agbs)


@require_http_methods(["GET", "POST"])
def contact(request):
    practices = user_practices(request.user)
    status = 200
    refusal = None
    if request.method == "POST":
        form = ContactForm(request.POST, practices=practices)
        if form.is_valid():
            data = dict(form.cleaned_data)
            if data.get("practice_agb") and practices and data["practice_agb"] not in practices:
                data["practice_agb"] = ""  # a logged-in sender speaks for their own practices only
            if len(practices) == 1 and not data.get("practice_agb"):
                data["practice_agb"] = practices[0]
            refusal = rate_refusal(data["email"], client_ip(request))
            if refusal is None:
                store_and_mail(data, user=request.user, ip_address=client_ip(request))
                return redirect("public:contact_sent")
            status = 429
            alarms.limit_reached("contact_rate", data["email"], request=request, detail="contact form")
        else:
            status = 400
    else:
        initial = {}
        if request.user.is_authenticated:
            initial["email"] = request.user.email
            initial["name"] = request.user.get_full_name()
            if len(practices) == 1:
                initial["practice_agb"] = practices[0]
        form = ContactForm(initial=initial, practices=practices)
    response = render(
        request,
        "public/contact.html",
        {"form": form, "practices": practices, "refusal": refusal.text if refusal else ""},
        status=status,
    )
    if refusal is not None:
        response["Retry-After"] = str(refusal.seconds)
    return response


@require_GET
def privacy(request):
    """The privacy statement (ASVS 8.3.3), with the retention periods the portal runs with."""
    return render(
        request,
        "public/privacy.html",
        {"retention": privacy_statement.retention(), "version": privacy_statement.STATEMENT_VERSION},
    )


@require_GET
def contact_sent(request):
    return render(request, "public/contact_sent.html")


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page says: the portal's icon (its static
    file's name is resolved per request, so a hashed name from collectstatic works too)."""
    return redirect(static("portal/favicon.ico"), permanent=True)
