"""The access decisions, shared by the manager page, the admin and ``spiegel portal``:
each changes the rows, writes its audit line and sends its e-mails, in that order."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from . import audit, notify
from .models import AuditEvent, InsurerStaff, PracticeAccess, PracticeManager


class ActionRefused(Exception):
    """A decision that is not allowed (the message is shown to the user, in Dutch)."""


def email_of(user) -> str:
    return user.email or user.get_username()


def request_access(user, agb: str, *, request=None) -> PracticeAccess | None:
    """Record the account's request for the practice. Recorded the same way whether or not
    the AGB is in a published release, so the answer never tells whether a practice exists;
    a request that no manager can see simply stays pending. None when access is already there."""
    with transaction.atomic():
        if PracticeManager.objects.filter(user=user, agb=agb).exists():
            return None
        access, created = PracticeAccess.objects.select_for_update().get_or_create(user=user, agb=agb)
        if not created:
            if access.status == PracticeAccess.APPROVED:
                return None
            if access.status == PracticeAccess.PENDING:
                return access
            access.status, access.decided_at, access.decided_by = PracticeAccess.PENDING, None, ""
            access.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(AuditEvent.REQUEST, request=request, actor=email_of(user), agb=agb, subject=email_of(user))
    notify.decision("request", agb=agb, actor=email_of(user), subject_email=email_of(user), managers_only=True)
    return access


def _decide(access: PracticeAccess, new_status: str, action: str, actor: str, request, allowed_from: set[str]) -> None:
    if request is not None and request.user.is_authenticated and access.user_id == request.user.pk:
        audit.record(
            AuditEvent.DENIED,
            request=request,
            agb=access.agb,
            subject=email_of(access.user),
            detail=f"{action} of one's own access refused",
        )
        raise ActionRefused("U kunt niet over uw eigen toegang beslissen.")
    with transaction.atomic():
        fresh = PracticeAccess.objects.select_for_update().get(pk=access.pk)
        if fresh.status not in allowed_from:
            raise ActionRefused("Deze aanvraag is inmiddels al afgehandeld.")
        fresh.status, fresh.decided_at, fresh.decided_by = new_status, timezone.now(), actor
        fresh.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(action, request=request, actor=actor, agb=fresh.agb, subject=email_of(fresh.user))
    notify.decision(action, agb=access.agb, actor=actor, subject_email=email_of(access.user))


def approve(access: PracticeAccess, *, actor: str, request=None) -> None:
    _decide(access, PracticeAccess.APPROVED, AuditEvent.GRANT, actor, request, {PracticeAccess.PENDING})


def refuse(access: PracticeAccess, *, actor: str, request=None) -> None:
    _decide(access, PracticeAccess.REFUSED, AuditEvent.REFUSAL, actor, request, {PracticeAccess.PENDING})


def revoke(access: PracticeAccess, *, actor: str, request=None) -> None:
    _decide(access, PracticeAccess.REVOKED, AuditEvent.REVOCATION, actor, request, {PracticeAccess.APPROVED})


def grant(user, agb: str, *, actor: str, request=None) -> bool:
    """Access as if a manager approved it (operators); False when it was there already."""
    with transaction.atomic():
        access, _ = PracticeAccess.objects.select_for_update().get_or_create(user=user, agb=agb)
        if access.status == PracticeAccess.APPROVED:
            return False
        access.status, access.decided_at, access.decided_by = PracticeAccess.APPROVED, timezone.now(), actor
        access.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(AuditEvent.GRANT, request=request, actor=actor, agb=agb, subject=email_of(user))
    notify.decision(AuditEvent.GRANT, agb=agb, actor=actor, subject_email=email_of(user))
    return True


def appoint_manager(user, agb: str, *, actor: str, request=None) -> bool:
    """Make the account a manager of the practice; False when it was one already."""
    with transaction.atomic():
        _, created = PracticeManager.objects.get_or_create(user=user, agb=agb, defaults={"appointed_by": actor})
        if not created:
            return False
        audit.record(AuditEvent.MANAGER_APPOINTED, request=request, actor=actor, agb=agb, subject=email_of(user))
    notify.decision(AuditEvent.MANAGER_APPOINTED, agb=agb, actor=actor, subject_email=email_of(user))
    return True


def remove_manager(manager: PracticeManager, *, actor: str, request=None) -> None:
    """Remove a manager; a practice keeps at least one."""
    agb, email = manager.agb, email_of(manager.user)
    with transaction.atomic():
        managers = list(PracticeManager.objects.select_for_update().filter(agb=agb))
        if len(managers) <= 1:
            raise ActionRefused("Een praktijk houdt altijd ten minste één autorisatiebeheerder.")
        PracticeManager.objects.filter(pk=manager.pk).delete()
        audit.record(AuditEvent.MANAGER_REMOVED, request=request, actor=actor, agb=agb, subject=email)
    notify.decision(AuditEvent.MANAGER_REMOVED, agb=agb, actor=actor, subject_email=email, extra=[email])


def known_insurer(insurer_id: str) -> bool:
    from orchestration.core.seeds import insurers

    return any(i.insurer_id == insurer_id for i in insurers())


def appoint_insurer_user(user, insurer_id: str, *, actor: str, request=None) -> bool:
    """Make the account staff of ``insurer_id`` (operators only); False when it was already.
    An account is staff of one insurer: appointing it to another moves it (audited as such)."""
    if not known_insurer(insurer_id):
        raise ActionRefused(f"Onbekende zorgverzekeraar: {insurer_id!r} (zie dbt_project/seeds/required_insurers.csv).")
    with transaction.atomic():
        staff = InsurerStaff.objects.select_for_update().filter(user=user).first()
        if staff is not None and staff.insurer_id == insurer_id:
            return False
        detail = f"insurer {insurer_id}" + (f" (was {staff.insurer_id})" if staff is not None else "")
        if staff is None:
            InsurerStaff.objects.create(user=user, insurer_id=insurer_id, appointed_by=actor)
        else:
            staff.insurer_id, staff.appointed_by = insurer_id, actor
            staff.save(update_fields=["insurer_id", "appointed_by"])
        audit.record(AuditEvent.INSURER_APPOINTED, request=request, actor=actor, subject=email_of(user), detail=detail)
    return True


def remove_insurer_user(staff: InsurerStaff, *, actor: str, request=None) -> None:
    with transaction.atomic():
        InsurerStaff.objects.filter(pk=staff.pk).delete()
        audit.record(
            AuditEvent.INSURER_REMOVED,
            request=request,
            actor=actor,
            subject=email_of(staff.user),
            detail=f"insurer {staff.insurer_id}",
        )


def appoint_operator(user, *, actor: str, request=None) -> bool:
    """Make the account an operator (the portal's staff, docs/release-four-eyes.md); False
    when it was already. It acts as one only once it has a TOTP authenticator."""
    if not user.is_active:
        raise ActionRefused(f"Het account {email_of(user)} is geblokkeerd en kan geen operator worden.")
    if user.is_staff:
        return False
    with transaction.atomic():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        audit.record(AuditEvent.OPERATOR_APPOINTED, request=request, actor=actor, subject=email_of(user))
    return True


def remove_operator(user, *, actor: str, request=None) -> bool:
    """Take the operator role away (staff off; tokens and tickets stop proving it at once,
    because each use checks the account again); False when it was not an operator."""
    if not user.is_staff:
        return False
    with transaction.atomic():
        user.is_staff = False
        user.save(update_fields=["is_staff"])
        audit.record(AuditEvent.OPERATOR_REMOVED, request=request, actor=actor, subject=email_of(user))
    return True


EVIDENCE_MIN_LENGTH = 10  # a sentence on how the identity was checked, not a placeholder
RESET_SUBJECT = "Uw tweede factor is verwijderd"
RESET_TEXT = (
    "Op uw verzoek is de tweede factor van uw account verwijderd (authenticator-app, herstelcodes en\n"
    "beveiligingssleutels), nadat {checked_by} uw identiteit heeft gecontroleerd. Al uw sessies zijn\n"
    "beëindigd.\n\n"
    "Log opnieuw in en stel meteen een nieuwe tweede factor in. Heeft u dit niet gevraagd, neem dan\n"
    "direct contact met ons op."
)


def reset_second_factor(user, *, actor: str, checked_by: str, evidence: str, request=None) -> tuple[int, int]:
    """An account that lost its second factor gets it removed, only after a named person checked
    the holder's identity the way an operator is enrolled (docs/release-four-eyes.md): in person
    or by a call back to a known number, never on the strength of an e-mail alone. Every
    authenticator goes (TOTP, recovery codes, security keys) and every session ends; the audit
    line keeps who checked and how; the holder is mailed. (authenticators, sessions) removed."""
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    checked_by, evidence = (checked_by or "").strip(), " ".join((evidence or "").split())
    if not checked_by:
        raise ActionRefused("Zeg wie de identiteit heeft gecontroleerd.")
    if len(evidence) < EVIDENCE_MIN_LENGTH:
        raise ActionRefused(
            "Beschrijf hoe de identiteit is gecontroleerd (bijvoorbeeld: in persoon met paspoort, of "
            f"teruggebeld op het bekende nummer); minstens {EVIDENCE_MIN_LENGTH} tekens."
        )
    with transaction.atomic():
        removed = Authenticator.objects.filter(user=user).delete()[0]
        if removed == 0:
            raise ActionRefused(f"Het account {email_of(user)} heeft geen tweede factor.")
        sessions = list(UserSession.objects.filter(user=user))
        for session in sessions:
            session.end()
        audit.record(
            AuditEvent.SECOND_FACTOR_RESET,
            request=request,
            actor=actor,
            subject=email_of(user),
            detail=(
                f"identity checked by {checked_by}: {evidence}; {removed} authenticator(s), {len(sessions)} session(s)"
            ),
        )
    notify.owner_notice(user.email, RESET_SUBJECT, RESET_TEXT.format(checked_by=checked_by))
    return removed, len(sessions)
