"""The portal speaks formal Dutch ("u"): the words of the informal forms, for the tests that
read its pages and mails."""

from __future__ import annotations

import re

INFORMAL = re.compile(r"\b(je|jij|jou|jouw|jezelf|jullie)\b", re.I)
