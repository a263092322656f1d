"""Pages under /praktijk/ (portal.md, "Stable interfaces"). Every view is wrapped in
``permissions.practice_view`` (login) and checks the practice with ``require_practice``
or ``require_manager`` before it reads anything about it."""

from __future__ import annotations

import mimetypes
import re

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.headers import third_party_page
from portal.releases import catalog

from . import actions, audit
from .models import AuditEvent, PracticeAccess, PracticeManager
from .permissions import deny, is_manager, practice_view, require_manager, require_practice, valid_agb

DECISIONS = [
    AuditEvent.REQUEST,
    AuditEvent.GRANT,
    AuditEvent.REFUSAL,
    AuditEvent.REVOCATION,
    AuditEvent.MANAGER_APPOINTED,
    AuditEvent.MANAGER_REMOVED,
]
DISCIPLINE_LABELS = {"fysiotherapie": "Fysiotherapie", "oefentherapie": "Oefentherapie"}


@practice_view
@require_GET
def practices(request):
    user = request.user
    agbs = sorted(
        set(PracticeAccess.objects.filter(user=user, status=PracticeAccess.APPROVED).values_list("agb", flat=True))
        | set(PracticeManager.objects.filter(user=user).values_list("agb", flat=True))
    )
    managed = set(PracticeManager.objects.filter(user=user).values_list("agb", flat=True))
    open_requests = (
        PracticeAccess.objects.filter(user=user)
        .exclude(status=PracticeAccess.APPROVED)
        .exclude(agb__in=managed)
        .order_by("-requested_at")
    )
    shown = catalog.shown_releases()
    return render(
        request,
        "access/practices.html",
        {
            # names only of the practices this account may see; its open requests show the AGB alone
            "practices": [
                {"agb": agb, "manager": agb in managed, "name": catalog.practice_name(agb, shown)} for agb in agbs
            ],
            "open_requests": open_requests,
        },
    )


@practice_view
@require_POST
def request_access(request):
    agb = (request.POST.get("agb") or "").strip()
    if not valid_agb(agb):
        messages.error(request, "Een AGB-code bestaat uit 8 cijfers.")
        return redirect("access:practices")
    access = actions.request_access(request.user, agb, request=request)
    if access is None:
        messages.info(request, f"U heeft al toegang tot praktijk {agb}.")
    else:
        # the same words whether or not the practice is known (portal.md: not even whether it exists)
        messages.success(
            request,
            f"Uw aanvraag voor praktijk {agb} is geregistreerd. Als de praktijk bij ons "
            "bekend is, beslist haar autorisatiebeheerder erover; u krijgt bericht per e-mail.",
        )
    return redirect("access:practices")


@practice_view
@require_GET
def practice(request, agb: str):
    require_practice(request, agb)
    shown = catalog.shown_releases()
    overview = catalog.practice_overview(agb, shown)
    sections = [{"discipline": d, "label": DISCIPLINE_LABELS[d], "entries": entries} for d, entries in overview.items()]
    return render(
        request,
        "access/practice.html",
        {
            "agb": agb,
            "practice": catalog.practice_name(agb, shown),  # after require_practice: its own name
            "sections": sections,
            "manager": is_manager(request.user, agb),
            "shown": shown,
        },
    )


def _file_response(
    path, *, download_name: str | None = None, content_type: str | None = None, cache: str = "private, no-store"
) -> FileResponse:
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(
        open(path, "rb"),
        content_type=content_type,
        as_attachment=download_name is not None,
        filename=download_name or "",
    )
    response["Cache-Control"] = cache
    return response


_ASSET_REFERENCES = re.compile(
    r'(?P<attr>(?:src|href))="(?P<ref>\.\./(?:plotly\.min\.js|spiegel\.js|spiegel\.css)|_funnel\.js)"'
)


@practice_view
@require_GET
def report(request, agb: str, period: str, discipline: str, extension: str):
    require_practice(request, agb)
    path = catalog.report_path(agb, period, discipline, extension)
    if path is None:
        raise deny(request, agb, "no such report")
    audit.record(
        AuditEvent.DOWNLOAD,
        request=request,
        agb=agb,
        subject=f"{period}/{discipline}.{extension}",
        detail=f"{path.parent.parent.parent.name}",
    )
    if extension == "pdf":
        return _file_response(
            path, download_name=f"spiegelinformatie-{agb}-{period}-{discipline}.pdf", content_type="application/pdf"
        )
    # the HTML report refers to its assets relative to its folder in the release; served
    # here, they come from this practice's own asset URLs (same access check)
    base = f"/praktijk/{agb}/{period}/"

    def absolute(match: re.Match) -> str:
        ref = match["ref"]
        url = base + (ref[3:] if ref.startswith("../") else f"{discipline}/{ref}")
        return f'{match["attr"]}="{url}"'

    html = _ASSET_REFERENCES.sub(absolute, path.read_text(encoding="utf-8"))
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    # plotly's charts and the report's layout set styles as attributes: scripts only from here
    return third_party_page(response)


@practice_view
@require_GET
def report_asset(request, agb: str, period: str, name: str, discipline: str | None = None):
    require_practice(request, agb)
    path = catalog.asset_path(period, name, discipline)
    if path is None:
        raise deny(request, agb, "no such asset")
    content_type = f"{'text/css' if name.endswith('.css') else 'text/javascript'}; charset=utf-8"
    # plotly.min.js is several MB: the browser may keep it for an hour (private: behind the check)
    return _file_response(path, content_type=content_type, cache="private, max-age=3600")


@practice_view
@require_http_methods(["GET", "POST"])
def manage(request, agb: str):
    require_manager(request, agb)
    actor = actions.email_of(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in {"approve", "refuse", "revoke"}:
                access = PracticeAccess.objects.filter(agb=agb, pk=_int(request.POST.get("access"))).first()
                if access is None:
                    raise deny(request, agb, f"{action}: no such request for this practice")
                {"approve": actions.approve, "refuse": actions.refuse, "revoke": actions.revoke}[action](
                    access, actor=actor, request=request
                )
                messages.success(
                    request,
                    {
                        "approve": "Toegang toegekend aan {}.",
                        "refuse": "Aanvraag van {} geweigerd.",
                        "revoke": "Toegang van {} ingetrokken.",
                    }[action].format(access.user.email),
                )
            elif action == "appoint":
                email = (request.POST.get("email") or "").strip()
                user = get_user_model().objects.filter(email__iexact=email, is_active=True).first() if email else None
                if user is None:
                    messages.error(
                        request,
                        "Er is geen actief account met dit e-mailadres; laat de persoon eerst een account aanmaken.",
                    )
                elif actions.appoint_manager(user, agb, actor=actor, request=request):
                    messages.success(request, f"{user.email} is nu autorisatiebeheerder.")
                else:
                    messages.info(request, f"{user.email} was al autorisatiebeheerder.")
            elif action == "remove":
                manager = PracticeManager.objects.filter(agb=agb, pk=_int(request.POST.get("manager"))).first()
                if manager is None:
                    raise deny(request, agb, "remove: no such manager of this practice")
                actions.remove_manager(manager, actor=actor, request=request)
                messages.success(request, f"{manager.user.email} is geen autorisatiebeheerder meer.")
                if manager.user_id == request.user.pk:
                    return redirect("access:practices")
            else:
                raise deny(request, agb, "unknown action")
        except actions.ActionRefused as exc:
            messages.error(request, str(exc))
        return redirect("access:manage", agb=agb)
    rows = PracticeAccess.objects.filter(agb=agb).select_related("user").order_by("-requested_at")
    return render(
        request,
        "access/manage.html",
        {
            "agb": agb,
            "practice": catalog.practice_name(agb),  # after require_manager
            "pending": [r for r in rows if r.status == PracticeAccess.PENDING],
            "granted": [r for r in rows if r.status == PracticeAccess.APPROVED],
            "closed": [r for r in rows if r.status in (PracticeAccess.REFUSED, PracticeAccess.REVOKED)],
            "managers": PracticeManager.objects.filter(agb=agb).select_related("user"),
            "events": AuditEvent.objects.filter(agb=agb, action__in=DECISIONS).order_by("-at", "-id")[:50],
        },
    )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@practice_view
def not_found(request, rest: str = ""):
    """Anything else under /praktijk/: the same 404 (after the login check)."""
    raise deny(request, "", "no such page")


def csrf_failure(request, reason: str = ""):
    """settings.CSRF_FAILURE_VIEW: the usual 403, and an audit line."""
    audit.record(AuditEvent.CSRF_FAILURE, request=request, subject=request.path[:254], detail=reason[:200])
    return render(request, "access/csrf_failure.html", status=403)
