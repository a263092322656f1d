"""Template filters of the insurers' app, for the header of every page (base.html)."""

from __future__ import annotations

from django import template

from portal.access import permissions

register = template.Library()


@register.filter
def is_insurer_user(user) -> bool:
    """Whether the account is insurer staff: the header then links to /verzekeraar/ instead of
    the practices page. The one permission module decides, as for the pages themselves."""
    return user is not None and permissions.is_insurer_user(user)
