"""Pages under /verzekeraar/ for insurer users (portal.md, role "insurer user").

Every view is wrapped in ``login_required_view`` (anonymous -> login page, audited) and
calls ``require_insurer`` before it reads anything, so an account that is not insurer
staff gets the portal's one 404. A period is only ever one of the shown releases
(``catalog.shown_revision``): an older or unknown period is the same 404. Insurer users
read index rows and the national overview, never a practice's report (those stay behind
``require_practice`` under /praktijk/).
"""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from portal.access import audit
from portal.access.models import AuditEvent
from portal.access.permissions import deny, login_required_view, require_insurer
from portal.public.models import ContactMessage
from portal.releases import catalog, index_table
from reports import labels

from . import exports, published, query

ROWS_PER_PAGE = 100
MESSAGES_PER_PAGE = 25


def _revision(request, period: str) -> catalog.Revision:
    """The newest revision of a shown period, or the audited 404 (older and unknown periods alike)."""
    revision = catalog.shown_revision(period)
    if revision is None:
        raise deny(request, "", "no such period")
    return revision


def _display(row: dict[str, str]) -> dict[str, str]:
    """One row as the table shows it: whole index points, Dutch words, no raw floats."""
    ok = row.get("status") == "ok"
    return {
        "agb": row["practice_agb"],
        "discipline": row["discipline"],
        "discipline_label": labels.DISCIPLINE_LABEL.get(row["discipline"], row["discipline"]),
        "status": row["status"],
        "status_label": query.STATUS_LABELS.get(row["status"], row["status"]),
        "patients": labels.fmt_int(index_table.number(row.get("patients", ""))),
        "index": labels.index_with_interval(row["behandelindex"], row["ci_lower"], row["ci_upper"]) if ok else "–",
        "corrected": labels.fmt_int(index_table.number(row.get("corrected_index", ""))),
    }


def _sort_links(q: query.IndexQuery, base: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (ascending first, then flipping) and its aria-sort."""
    links = {}
    for key in index_table.SORT_KEYS:
        current = q.sort == key
        order = "desc" if current and not q.descending else "asc"
        aria = ("descending" if q.descending else "ascending") if current else "none"
        links[key] = {"href": base + q.querystring(with_sort=False, sort=key, order=order), "aria": aria}
    return links


def _page_url(q: query.IndexQuery, base: str, number: int | None) -> str:
    """The link to another page of the same selection (the period's own URL, never /verzekeraar/
    alone: a new publication would otherwise change what page 2 means)."""
    return base + q.querystring(page=str(number)) if number else ""


def _period_page(request, insurer: str, shown: list[catalog.Revision], revision: catalog.Revision | None):
    """The one page of /verzekeraar/: who the user is staff of, the shown periods, and the
    chosen period's table with its national summary (None: nothing published yet)."""
    context = {
        "insurer": insurer,
        "insurer_name": published.insurer_name(insurer),
        "shown": [
            {
                "revision": rev,
                "label": catalog.period_label(rev.period),
                "national": published.national_overview_path(rev) is not None,
            }
            for rev in shown
        ],
        "revision": revision,
        "message_count": _messages_of(insurer).count(),
    }
    if revision is not None:
        q = query.parse(request.GET)
        all_rows = index_table.rows_of(revision)
        rows = query.select(all_rows, q)
        page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        base = reverse("insurers:period", args=[revision.period])
        context.update(
            period=revision.period,
            period_label=catalog.period_label(revision.period),
            query=q,
            form=q.form,
            ignored=q.ignored,
            page=page,
            rows=[_display(row) for row in page.object_list],
            matching=len(rows),
            total=len(all_rows),
            summary=published.discipline_summary(all_rows),
            sort_links=_sort_links(q, base),
            previous_url=_page_url(q, base, page.previous_page_number() if page.has_previous() else None),
            next_url=_page_url(q, base, page.next_page_number() if page.has_next() else None),
            download_query=q.querystring(with_sort=q.sort_given),
            national=published.national_overview_path(revision) is not None,
        )
    return render(request, "insurers/period.html", context)


@login_required_view
@require_GET
def overview(request):
    """/verzekeraar/: the newest shown period (each period also has its own URL)."""
    insurer = require_insurer(request)
    shown = catalog.shown_releases()
    return _period_page(request, insurer, shown, shown[0] if shown else None)


@login_required_view
@require_GET
def period(request, period: str):
    insurer = require_insurer(request)
    revision = _revision(request, period)
    return _period_page(request, insurer, catalog.shown_releases(), revision)


@login_required_view
@require_GET
def download(request, period: str, extension: str):
    """The (filtered) index table as a file; audited as an export with its filters."""
    require_insurer(request)
    revision = _revision(request, period)
    fmt = exports.FORMATS[extension]
    q = query.parse(request.GET)
    rows = query.select(index_table.rows_of(revision), q, keep_file_order=True)
    body = fmt.build(rows)
    name = exports.filename(revision.period, revision.revision, fmt.extension, filtered=q.filtered)
    audit.record(
        AuditEvent.EXPORT,
        request=request,
        agb=q.filter.practice_agb,
        subject=f"{revision.period}/{revision.revision}/behandelindex.{fmt.extension}",
        detail=f"{q.describe()}; {len(rows)} rows",
    )
    response = HttpResponse(body, content_type=fmt.content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


_OVERVIEW_ASSETS = re.compile(r'(?P<attr>src|href)="(?P<name>plotly\.min\.js|spiegel\.js|spiegel\.css)"')


@login_required_view
@require_GET
def national_overview(request, period: str):
    """The release's national overview, its asset references pointing at the insurer's asset
    URLs below (behind the same check); audited as a download of a report without a practice."""
    require_insurer(request)
    revision = _revision(request, period)
    path = published.national_overview_path(revision)
    if path is None:
        raise deny(request, "", "no national overview in this release")
    audit.record(
        AuditEvent.DOWNLOAD,
        request=request,
        subject=f"{revision.period}/{revision.revision}/{published.NATIONAL_OVERVIEW}",
    )
    base = f"/verzekeraar/{revision.period}/"
    html = _OVERVIEW_ASSETS.sub(lambda m: f'{m["attr"]}="{base}{m["name"]}"', path.read_text(encoding="utf-8"))
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required_view
@require_GET
def national_asset(request, period: str, name: str):
    require_insurer(request)
    path = catalog.asset_path(period, name)
    if path is None:
        raise deny(request, "", "no such asset")
    content_type = "text/css" if name.endswith(".css") else "text/javascript"
    response = FileResponse(open(path, "rb"), content_type=content_type)
    # plotly.min.js is several MB: the browser may keep it for an hour (private: behind the check)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _messages_of(insurer: str):
    """The contact messages on policy and content addressed to this insurer, newest first;
    the one query that decides which messages an insurer user reads."""
    return ContactMessage.objects.filter(topic=ContactMessage.TOPIC_POLICY, insurer=insurer).order_by(
        "-created_at", "-id"
    )


@login_required_view
@require_GET
def messages_page(request):
    insurer = require_insurer(request)
    page = Paginator(_messages_of(insurer), MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "insurers/messages.html",
        {"insurer": insurer, "insurer_name": published.insurer_name(insurer), "page": page},
    )


@login_required_view
def not_found(request, rest: str = ""):
    """Anything else under /verzekeraar/: the same 404 (after the login check)."""
    require_insurer(request)
    raise deny(request, "", "no such page")
