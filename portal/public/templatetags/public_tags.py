"""Numbers written the Dutch way: 1.234,56 (the public pages' only number format)."""

from __future__ import annotations

from django import template

register = template.Library()


def nl_number(value, digits: int = 0) -> str:
    text = f"{float(value):,.{int(digits)}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


@register.filter(name="nl")
def nl_filter(value, digits=0):
    if value is None or value == "":
        return ""
    return nl_number(value, digits)
