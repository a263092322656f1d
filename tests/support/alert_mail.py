"""The alerts as the file mail backend leaves them (``<data dir>/alerts/mail/*.eml``) and the
sent log (``alerts/sent.jsonl``), read back by the tests of the platform's and the portal's alerts."""

from __future__ import annotations

import email
import email.policy
import json

from orchestration.core.alert_files import mail_dir, sent_log_path
from orchestration.core.settings import SpiegelPaths


def mails(paths: SpiegelPaths) -> list[email.message.EmailMessage]:
    folder = mail_dir(paths)
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def sent_log(paths: SpiegelPaths) -> list[dict]:
    path = sent_log_path(paths)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
