"""Contact messages: the rate limit, storing and mailing (portal.md, "Contact").

Every accepted message is stored first (operators read it in the admin whatever the
mail server does), then mailed to the address configured for its topic or, for policy
and content, its insurer (``conf.contact_address``). No captcha from outside the
machine: a sender address may send ``conf.contact_limit()`` messages (10) within
``conf.contact_window()`` (an hour), a client address (IP) a few times that; the next
one is refused with a message that says until when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from orchestration.core.seeds import insurers
from portal.public import conf
from portal.public.models import ContactMessage


@dataclass(frozen=True)
class Refusal:
    retry_after: datetime
    seconds: int

    @property
    def text(self) -> str:
        at = timezone.localtime(self.retry_after).strftime("%H:%M")
        return (
            f"Uw bericht is niet verstuurd: vanaf dit e-mailadres zijn in korte tijd al {conf.contact_limit()} "
            f"berichten verstuurd. Dat is het maximum. U kunt na {at} uur weer een bericht sturen; uw eerdere "
            "berichten zijn ontvangen."
        )


def rate_refusal(email: str, ip_address: str | None, now: datetime | None = None) -> Refusal | None:
    """None when the sender may send now; else when they may send again."""
    now = now or timezone.now()
    since = now - conf.contact_window()
    recent = ContactMessage.objects.filter(created_at__gt=since)
    checks = [(recent.filter(email__iexact=email), conf.contact_limit())]
    if ip_address:
        checks.append((recent.filter(ip_address=ip_address), conf.contact_ip_limit()))
    for queryset, limit in checks:
        times = list(queryset.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(times) >= limit:
            # the oldest of the last ``limit`` messages leaves the window first
            retry = times[-1] + conf.contact_window()
            return Refusal(retry, max(1, int((retry - now).total_seconds())))
    return None


def insurer_name(insurer_id: str) -> str:
    return next((i.insurer_name for i in insurers() if i.insurer_id == insurer_id), insurer_id)


def store_and_mail(data: dict, user=None, ip_address: str | None = None) -> ContactMessage:
    """Store the message, then mail it; a mail failure is recorded on the message, not raised."""
    message = ContactMessage.objects.create(
        topic=data["topic"],
        insurer=data.get("insurer") or "",
        name=data["name"],
        email=data["email"],
        practice_agb=data.get("practice_agb") or "",
        subject=data["subject"],
        message=data["message"],
        user=user if getattr(user, "is_authenticated", False) else None,
        ip_address=ip_address or None,
    )
    address = conf.contact_address(message.topic, message.insurer)
    topic = message.get_topic_display()
    if message.insurer:
        topic = f"{topic}: {insurer_name(message.insurer)}"
    body = "\n".join(
        [
            f"Onderwerp: {topic}",
            f"Van: {message.name} <{message.email}>",
            f"Praktijk (AGB): {message.practice_agb or '-'}",
            f"Account: {'ja, ingelogd' if message.user_id else 'nee'}",
            f"Ontvangen: {timezone.localtime(message.created_at):%Y-%m-%d %H:%M}",
            f"Bericht nummer {message.pk} "
            f"(ook te lezen in het beheer: /admin/public/contactmessage/{message.pk}/change/)",
            "",
            message.message,
        ]
    )
    mail = EmailMessage(
        subject=f"[Mijn Spiegel] {topic}: {message.subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        reply_to=[message.email],
    )
    try:
        mail.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - the message is stored; the operators see the failure
        message.mail_error = f"{type(exc).__name__}: {exc}"[:500]
    else:
        message.mailed_to = address
        message.mailed_at = timezone.now()
    message.save(update_fields=["mailed_to", "mailed_at", "mail_error"])
    return message
