"""The owner's mail when an e-mail address is added to the account (ASVS 2.2.3).

allauth (``ACCOUNT_EMAIL_NOTIFICATIONS``) mails the owner when the primary address changes, an
address is removed, the password changes and a second factor is added or removed, but on a new
address it mails only the new address (its confirmation link). Someone with the password could
add an address of their own and later make it the primary one, so the account's present
address hears of the addition at once."""

from __future__ import annotations

from allauth.account.signals import email_added
from django.dispatch import receiver

from . import notify


@receiver(email_added, dispatch_uid="spiegel_email_added_notice")
def mail_owner_of_added_address(sender, request=None, user=None, email_address=None, **kwargs) -> None:
    """Mail the account's primary address that ``email_address`` was added (not the new one)."""
    owner = (getattr(user, "email", "") or "").strip()
    added = getattr(email_address, "email", "") or ""
    if not owner or owner.lower() == added.lower():
        return
    notify.owner_notice(
        owner,
        "E-mailadres toegevoegd",
        f"Aan uw account van Mijn Spiegel is het e-mailadres {added} toegevoegd. Het werkt pas na "
        "bevestiging via de link die naar dat adres is gestuurd.\n\n"
        "Was u dit niet, wijzig dan uw wachtwoord (/accounts/password/change/) en verwijder het adres "
        "(/accounts/email/).",
    )
