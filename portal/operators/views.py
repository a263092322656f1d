"""/beheer/vrijgave/: the operators' release pages (docs/release-four-eyes.md).

Every view goes through ``permissions.operator_view``: anonymous to the login page, other
accounts the same 404 as everywhere, staff without a second factor to its set-up, a
session that did not pass it to the code. The page shows a period's readiness verdict, its
sign-off and what was published (``state.py``, from files), with links to the checks in
Dagster; its two buttons issue a ticket for the operator and launch the platform's job in
Dagster (``launch.py``). The job's step decides (``orchestration/release/assets.py``); the
page only says early what the step would refuse anyway: a blocked period, and four eyes.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from orchestration.core.seeds import periods as known_periods
from orchestration.core.service import dagster_ui_url, four_eyes, service_mode
from orchestration.core.settings import SpiegelPaths
from orchestration.release.operators import (
    PUBLISH,
    SIGNOFF,
    Operator,
    issue_ticket,
    publish_refusal,
)
from portal.access import audit
from portal.access.models import AuditEvent
from portal.access.permissions import deny, operator_view

from . import launch
from .state import PERIOD_RE, period_release, release_periods

# the platform's jobs and their steps (orchestration/runs/jobs.py SIGNOFF_JOB, PUBLISH_JOB; the
# asset names): named here so that the portal need not import Dagster
JOBS = {SIGNOFF: ("sign_off", "signoff"), PUBLISH: ("publish_release", "release")}
COMMENT_MAX = 400
RUN_SESSION_KEY = "operators.last_run"


def _operator(request) -> Operator:
    user = request.user
    return Operator(user.email or user.get_username(), int(user.pk), True)


def _paths() -> SpiegelPaths:
    return SpiegelPaths(settings.DATA_DIR)


def _period(request, period: str) -> str:
    if not PERIOD_RE.match(period or "") or period not in known_periods():
        raise deny(request, "", "unknown period")
    return period


def _subject(period: str) -> str:
    return f"periode {period}"


def dagster_links(period: str) -> dict[str, str]:
    ui = dagster_ui_url()
    partition = urlencode({"partition": period})
    return {
        "ui": ui,
        "readiness": f"{ui}/assets/release_readiness?{partition}",
        "checks": f"{ui}/assets/release_readiness?view=checks",
        "signoff": f"{ui}/assets/signoff?{partition}",
        "release": f"{ui}/assets/release?{partition}",
        "runs": f"{ui}/runs?" + urlencode({"q[]": f"tag:dagster/partition={period}"}),
    }


@operator_view
def overview(request):
    return render(
        request,
        "operators/overview.html",
        {"periods": release_periods(), "dagster": dagster_ui_url(), "four_eyes": four_eyes()},
    )


@operator_view
def period_page(request, period: str):
    period = _period(request, period)
    state = period_release(period)
    me = _operator(request)
    signed_by_me = bool(state.signoff and state.signoff.operator.same_person(me))
    last_run = (request.session.get(RUN_SESSION_KEY) or {}).get(period)
    return render(
        request,
        "operators/period.html",
        {
            "state": state,
            "links": dagster_links(period),
            "four_eyes": four_eyes(),
            "service_mode": service_mode(),
            "signed_by_me": signed_by_me,
            "publish_blocked_by_four_eyes": signed_by_me and four_eyes(),
            "last_run": last_run,
            "last_run_url": f"{dagster_ui_url()}/runs/{last_run['run_id']}" if last_run else "",
            "comment_max": COMMENT_MAX,
        },
    )


def _remember_run(request, period: str, action: str, run_id: str) -> None:
    runs = dict(request.session.get(RUN_SESSION_KEY) or {})
    runs[period] = {"action": action, "run_id": run_id}
    request.session[RUN_SESSION_KEY] = runs


def _launch(request, period: str, action: str, operator: Operator, config_extra: dict, requested: str, detail: str):
    job, op = JOBS[action]
    comment = config_extra.get("comment", "")
    ticket = issue_ticket(_paths(), operator, action=action, period=period, comment=comment)
    try:
        run_id = launch.launch_run(job, period, op, {"ticket": ticket, **config_extra}, operator.account)
    except launch.LaunchFailed as exc:
        audit.record(requested, request=request, subject=_subject(period), detail=f"launch failed: {exc}")
        messages.error(request, f"Dagster heeft de opdracht niet aangenomen: {exc}")
        return redirect("operators:period", period=period)
    audit.record(requested, request=request, subject=_subject(period), detail=f"run {run_id}: {detail}")
    _remember_run(request, period, action, run_id)
    what = "De aftekening" if action == SIGNOFF else "De publicatie"
    messages.success(
        request,
        f"{what} is gestart in Dagster (run {run_id[:8]}). Ververs deze pagina over enkele ogenblikken; "
        "de run in Dagster toont het verloop.",
    )
    return redirect("operators:period", period=period)


@operator_view
@require_POST
def sign_off(request, period: str):
    period = _period(request, period)
    comment = " ".join((request.POST.get("comment") or "").split())
    if not comment:
        messages.error(request, "Vul een toelichting in: wat heeft u gecontroleerd?")
        return redirect("operators:period", period=period)
    if len(comment) > COMMENT_MAX:
        messages.error(request, f"De toelichting is langer dan {COMMENT_MAX} tekens.")
        return redirect("operators:period", period=period)
    state = period_release(period)
    if state.verdict != "ready":
        audit.record(
            AuditEvent.SIGNOFF_REFUSED,
            request=request,
            subject=_subject(period),
            detail=f"sign-off of {period} refused: the readiness verdict is {state.verdict or 'not there yet'}",
        )
        messages.error(
            request,
            "Aftekenen kan niet: de controles van deze periode zijn niet (alle) geslaagd. "
            "Bekijk de blokkerende redenen in Dagster.",
        )
        return redirect("operators:period", period=period)
    return _launch(
        request, period, SIGNOFF, _operator(request), {"comment": comment}, AuditEvent.SIGNOFF_REQUESTED, comment
    )


@operator_view
@require_POST
def publish(request, period: str):
    period = _period(request, period)
    state = period_release(period)
    me = _operator(request)
    signoff = state.signoff
    if signoff is None:
        messages.error(request, "Publiceren kan niet: er is nog geen aftekening voor deze periode.")
        return redirect("operators:period", period=period)
    refusal = publish_refusal(period, signoff.operator, me)
    if refusal is not None:
        audit.record(AuditEvent.PUBLISH_REFUSED, request=request, subject=_subject(period), detail=refusal)
        if signoff.operator.same_person(me):
            messages.error(
                request,
                "Publiceren geweigerd (vier ogen): u heeft deze periode zelf afgetekend. "
                "Een andere operator moet haar publiceren.",
            )
        else:
            messages.error(request, f"Publiceren geweigerd: {refusal}")
        return redirect("operators:period", period=period)
    if state.signoff_published:
        messages.info(request, f"Deze aftekening is al gepubliceerd als {state.newest.name}.")
        return redirect("operators:period", period=period)
    return _launch(request, period, PUBLISH, me, {}, AuditEvent.PUBLISH_REQUESTED, f"signed off by {signoff.account}")
