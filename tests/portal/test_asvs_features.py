"""ASVS items the portal meets by features added for them (docs/security.md)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


def _accepted(password: str) -> bool:
    try:
        validate_password(password)
    except ValidationError:
        return False
    return True


# -- V2.1.9: no composition rules ---------------------------------------------------------------


def test_a_password_of_digits_only_is_accepted_but_common_digit_strings_are_not():
    """No rule on the kinds of character: digits alone pass; the common list still refuses the usual ones."""
    assert _accepted("847362910573")
    assert _accepted("123456789012345")
    for common in ["1234567890123", "111111111111", "000000000000", "123123123123"]:
        assert not _accepted(common), common


@pytest.mark.parametrize("password", ["ALLEEN HOOFDLETTERS", "alleen kleine letters", "!!--==??..,,"])
def test_no_kind_of_character_is_required(password):
    assert _accepted(password)
