"""The read API, /api/v1/ (portal.md, "The read API"): read-only, from ``releases/`` only.

Who may read what is decided in ``portal.access.permissions``, the same module the pages
use: the index rows a caller gets are ``index_scope(user).rows(...)``, a practice's rows
``can_read_practice_figures``. What the caller may not see, or what does not exist, is the
same 404 (audited), as for the pages; a call without valid credentials where credentials
are needed is 401.

Every response carries ``ETag`` (a digest of exactly what it holds, in its format) and
``Last-Modified`` (the publication of the newest revision it draws on), and a conditional
request that matches gets 304. Every authenticated call leaves a line in the audit log.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, date, datetime
from email.utils import format_datetime

from django.http import Http404
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import alarms, audit, permissions
from portal.access.models import ApiToken, AuditEvent
from portal.access.tokens import TOKEN_PREFIX
from portal.logsafe import redact
from portal.public import calendar
from portal.releases import catalog, index_table
from reports import movement

from . import serializers as s
from .renderers import CSVRenderer
from .throttling import counted_caller

PERIOD_RE = re.compile(r"^[0-9]{4}-v[1-3]\Z")
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
INDEX_FILTERS = ("discipline", "practice_agb", "status", "page", "page_size", "format")

ERRORS = {
    401: OpenApiResponse(s.ErrorSerializer, description="No valid token (or session) where one is needed."),
    404: OpenApiResponse(s.ErrorSerializer, description="Unknown, or not yours to read (the same answer)."),
    429: OpenApiResponse(s.ErrorSerializer, description="Too many requests for this token; see Retry-After."),
}
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified (If-None-Match / If-Modified-Since).")}
PERIOD_PARAMETER = OpenApiParameter(
    "period", str, OpenApiParameter.PATH, pattern=r"^[0-9]{4}-v[1-3]$", description="YYYY-vN, e.g. 2024-v3"
)


def _caller(request) -> str:
    """The caller the read API's rate limit counted (``throttling.counted_caller``), named
    without any secret: a token by its public prefix."""
    kind, caller = counted_caller(request)
    if kind == "token":
        return f"token {TOKEN_PREFIX}{caller.prefix}… of {caller.user.email or caller.user.get_username()}"
    if kind == "user":
        return caller.email or caller.get_username()
    return f"address {caller or 'unknown'}"


class ReadOnlyApiView(APIView):
    """What every endpoint does: GET only, the audit line, the conditional headers."""

    http_method_names = ["get", "head", "options"]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        self._audit(request, response)
        self._as_download(request, response)
        return response

    @staticmethod
    def _as_download(request, response) -> None:
        """JSON and CSV answers are files to a browser, never a page to render (ASVS 14.4.2):
        a response a browser is tricked into opening cannot run as HTML. The browsable API's
        HTML (``?format=api``) stays a page."""
        renderer = getattr(request, "accepted_renderer", None)
        extension = {"json": "json", "csv": "csv"}.get(getattr(renderer, "format", ""))
        if extension and not response.has_header("Content-Disposition"):
            response["Content-Disposition"] = f'attachment; filename="api.{extension}"'

    def throttled(self, request, wait):
        seconds = math.ceil(wait) if wait is not None else None
        alarms.limit_reached("api_rate", _caller(request), request=request, detail=f"{request.method} {request.path}")
        raise exceptions.Throttled(
            wait=wait,
            detail=(
                "Te veel verzoeken met deze sleutel; probeer het over "
                f"{seconds if seconds is not None else 'even'} seconden opnieuw (rate limit exceeded)."
            ),
        )

    @staticmethod
    def _audit(request, response) -> None:
        try:
            user = request.user
        except exceptions.APIException:  # a refused token: audited by the authentication
            return
        if not (user and user.is_authenticated):
            return
        via = f"token {request.auth.prefix}" if isinstance(request.auth, ApiToken) else "session"
        audit.record(
            AuditEvent.API_CALL,
            request=request,
            subject=redact(request.get_full_path())[:254],
            detail=f"{response.status_code} via {via}",
        )

    def conditional(self, request, payload, last_modified: datetime | None, renderer_format: str) -> Response | None:
        """A 304 when the client holds what this response would be; else None."""
        etag = _etag(payload, renderer_format)
        self._etag, self._last_modified = etag, last_modified
        answer = get_conditional_response(
            request._request, etag=etag, last_modified=int(last_modified.timestamp()) if last_modified else None
        )
        if answer is not None and answer.status_code == 304:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=self._validators())
        return None

    def _validators(self) -> dict[str, str]:
        headers = {"ETag": self._etag, "Cache-Control": "private, no-cache"}
        if self._last_modified is not None:
            headers["Last-Modified"] = format_datetime(self._last_modified.astimezone(UTC), usegmt=True)
        return headers

    def answer(self, request, payload, last_modified: datetime | None) -> Response:
        found = self.conditional(request, payload, last_modified, request.accepted_renderer.format)
        if found is not None:
            return found
        return Response(payload, headers=self._validators())


def _etag(payload, renderer_format: str) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True, default=str)
    return '"' + hashlib.sha256(f"{renderer_format}\n{text}".encode()).hexdigest()[:32] + '"'


def _period_or_404(request, period: str) -> str:
    if not PERIOD_RE.match(period or ""):
        raise permissions.deny(request, "", "api: not a period")
    return period


def _newest(revisions: list[catalog.Revision]) -> datetime | None:
    dates = [r.published_at for r in revisions if r.published_at is not None]
    return max(dates) if dates else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


class PeriodList(ReadOnlyApiView):
    """Every period of the calendar, newest first: in voorbereiding, gepubliceerd (with the
    newest revision and its date), uitgesteld or vervallen. Anyone may read it."""

    @extend_schema(
        summary="Every period with its calendar state",
        responses={200: s.PeriodListSerializer, **NOT_MODIFIED, 429: ERRORS[429]},
    )
    def get(self, request):
        entries = calendar.calendar()
        results = [
            {
                "period": e.period,
                "label": e.label,
                "state": e.state,
                "planned_date": e.planned.isoformat(),
                "first_published_on": _iso(e.first.published_on if e.first else None),
                "published_on": _iso(e.newest.published_on if e.newest else None),
                "revision": e.newest.revision if e.newest else None,
                "cancelled_reason": e.cancelled_reason or "",
            }
            for e in entries
        ]
        return self.answer(request, {"count": len(results), "results": results}, _newest(catalog.shown_releases()))


class ReferenceTable(ReadOnlyApiView):
    """The national reference table of a published period's newest revision, as rows
    (JSON) or as the published file (``Accept: text/csv``). Anyone may read it."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="The national reference table of a published period (reference_strata.csv)",
        parameters=[PERIOD_PARAMETER],
        responses={
            (200, "application/json"): s.ReferenceSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **NOT_MODIFIED,
            404: ERRORS[404],
            429: ERRORS[429],
        },
    )
    def get(self, request, period: str):
        _period_or_404(request, period)
        revision = catalog.newest_revision(period)
        if revision is None or not revision.file("reference_strata.csv").is_file():
            raise permissions.deny(request, "", "api: no published reference for this period")
        rows = catalog.read_csv(revision, "reference_strata.csv")
        if request.accepted_renderer.format == "csv":
            text = revision.file("reference_strata.csv").read_text(encoding="utf-8")
            return self.answer(request, text, revision.published_at)
        payload = {"period": period, "revision": revision.revision, "count": len(rows), "results": rows}
        return self.answer(request, payload, revision.published_at)


def _choice(request, name: str, allowed, pattern: re.Pattern | None = None) -> str:
    value = request.query_params.get(name, "")
    if value == "":
        return ""
    if (allowed and value not in allowed) or (pattern and not pattern.match(value)):
        hint = f"one of {', '.join(allowed)}" if allowed else "8 digits"
        raise exceptions.ValidationError({name: [f"Ongeldige waarde {value[:40]!r}: {hint}."]})
    return value


def _positive(request, name: str, default: int, maximum: int | None = None) -> int:
    text = request.query_params.get(name, "")
    if text == "":
        return default
    if not text.isascii() or not text.isdigit() or int(text) < 1 or (maximum and int(text) > maximum):
        limit = f" tot en met {maximum}" if maximum else ""
        raise exceptions.ValidationError({name: [f"Ongeldige waarde {text[:40]!r}: een geheel getal vanaf 1{limit}."]})
    return int(text)


AGB_PATTERN = re.compile(r"^[0-9]{8}\Z")


class IndexTable(ReadOnlyApiView):
    """The index table of one of the six shown periods (newest revision). Insurer users
    read every practice's rows; practice users the rows of their own practices only.
    Filters: discipline, practice_agb, status; 100 rows a page (``page_size`` up to 1000).
    ``Accept: text/csv`` gives the whole filtered table in the columns of behandelindex.csv."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="The index table of a shown period: every practice for insurer users, one's own practices else",
        parameters=[
            PERIOD_PARAMETER,
            OpenApiParameter("discipline", str, enum=list(catalog.DISCIPLINES)),
            OpenApiParameter("practice_agb", str, pattern=r"^[0-9]{8}$"),
            OpenApiParameter("status", str, enum=list(index_table.STATUSES)),
            OpenApiParameter("page", int, description="1, 2, …"),
            OpenApiParameter("page_size", int, description=f"rows a page, at most {MAX_PAGE_SIZE} ({PAGE_SIZE})"),
        ],
        responses={
            (200, "application/json"): s.IndexPageSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The whole filtered table in the columns of behandelindex.csv."
            ),
            **NOT_MODIFIED,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A filter with a value it cannot have."),
            **ERRORS,
        },
    )
    def get(self, request, period: str):
        scope = permissions.index_scope(request.user)
        if scope is None:
            raise exceptions.NotAuthenticated("Een API-sleutel is nodig (Authorization: Bearer <token>).")
        _period_or_404(request, period)
        revision = catalog.shown_revision(period)
        if revision is None:
            raise permissions.deny(request, "", "api: period not among the shown releases")
        wanted = index_table.IndexFilter(
            discipline=_choice(request, "discipline", catalog.DISCIPLINES),
            practice_agb=_choice(request, "practice_agb", (), AGB_PATTERN),
            status=_choice(request, "status", index_table.STATUSES),
        )
        page_size = _positive(request, "page_size", PAGE_SIZE, MAX_PAGE_SIZE)
        page = _positive(request, "page", 1)
        table = index_table.table_of(revision)
        numbers = table.select(wanted, scope.practices)
        fmt = request.accepted_renderer.format
        # the answer is fixed by the file, the caller's practices, the query and the format:
        # its ETag is worked out from those, before (and, for a 304, instead of) the answer
        practices = ["*"] if scope.practices is None else sorted(scope.practices)
        etag_of = [table.signature, practices, request.get_host(), request.get_full_path(), fmt]
        found = self.conditional(request, etag_of, revision.published_at, fmt)
        if found is not None:
            return found
        if fmt == "csv":
            return Response(index_table.csv_text(table.rows[i] for i in numbers), headers=self._validators())
        pages = max(1, math.ceil(len(numbers) / page_size))
        if page > pages:
            raise exceptions.NotFound(f"Pagina {page} bestaat niet; er zijn {pages} pagina's.")
        chunk = numbers[(page - 1) * page_size : page * page_size]
        payload = {
            "period": period,
            "revision": revision.revision,
            "count": len(numbers),
            "page": page,
            "pages": pages,
            "next": _page_url(request, page + 1) if page < pages else None,
            "previous": _page_url(request, page - 1) if page > 1 else None,
            "results": [table.typed_rows[i] for i in chunk],
        }
        return Response(payload, headers=self._validators())


def _page_url(request, page: int) -> str:
    query = request.query_params.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(request.path + "?" + query.urlencode())


def _movement(rev: catalog.Revision, discipline: str, agb: str) -> dict | None:
    found = (movement.read_movements(rev.path) or {}).get((discipline, agb))
    if found is None:
        return None
    return {
        "from_period": found.from_period,
        "bi_from": found.bi_from,
        "bi_to": found.bi_to,
        "own_points": found.own,
        "case_mix_points": found.case_mix,
        "reference_points": found.reference,
    }


class PracticeDetail(ReadOnlyApiView):
    """One practice's rows over the shown periods (newest first), each with why its index
    moved since the previous published version (method.md §10; null where there is no
    comparison). For the practice's own users and for insurer users; 404 for anyone else."""

    @extend_schema(
        summary="One practice's rows over its shown periods, with the movement (method.md §10)",
        parameters=[OpenApiParameter("agb", str, OpenApiParameter.PATH, pattern=r"^[0-9]{8}$")],
        responses={200: s.PracticeSerializer, **NOT_MODIFIED, **ERRORS},
    )
    def get(self, request, agb: str):
        if permissions.index_scope(request.user) is None:
            raise exceptions.NotAuthenticated("Een API-sleutel is nodig (Authorization: Bearer <token>).")
        if not permissions.can_read_practice_figures(request.user, agb):
            raise permissions.deny(request, agb, "api: no access to this practice")
        shown = catalog.shown_releases()
        results = []
        for rev in shown:
            for row in sorted(catalog.practice_rows_cached(rev, agb), key=lambda r: r["discipline"]):
                results.append(
                    {
                        **index_table.typed(row),
                        "revision": rev.revision,
                        "published_at": rev.published_at.isoformat() if rev.published_at else None,
                        "movement": _movement(rev, row["discipline"], agb),
                    }
                )
        if not results:
            raise permissions.deny(request, agb, "api: practice in no shown release")
        name = catalog.practice_name(agb, shown)  # after the access check: its own name
        payload = {
            "practice_agb": agb,
            "practice_name": name.name if name else "",
            "place": name.place if name else "",
            "results": results,
        }
        return self.answer(request, payload, _newest(shown))


class NotFoundView(ReadOnlyApiView):
    """Any other path under /api/: the JSON 404 (not the HTML page of the site)."""

    @extend_schema(exclude=True)
    def get(self, request, rest: str = ""):
        raise Http404
