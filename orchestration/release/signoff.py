"""The operator's data-quality sign-off: append-only, tied to the deliveries it covers.

A sign-off records who, when, why, and exactly which deliveries (ids and checksums)
it speaks about. "Who" is an operator (``operators.Operator``): in service mode a portal
account proven by a token or a ticket (``account``, ``account_id``, ``authenticated:
true``), otherwise the typed ``--by`` name (``authenticated: false``); ``by`` keeps the
name (the account's e-mail address) for the readers of before. Lines written before
these fields existed read with the typed name as their account, not authenticated.

It is refused while a blocking gate fails, and it becomes void by itself when a
delivery of the period changes: validity is the equality of its fingerprint with the
period's current one, so nothing ever has to be deleted.

A sign-off is recorded once: asking again for the very sign-off that is the period's
newest (the same operator, comment and deliveries; a retry after a crash, the same click
from the portal and the CLI at once) returns the recorded one and writes nothing. A line
is appended whole or not at all: a line cut short (a disk that filled up, a machine that
lost power while writing it) was never acknowledged, so readers skip it and the next
sign-off removes it first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from orchestration.core.locks import file_lock
from orchestration.core.service import service_mode
from orchestration.core.settings import METHOD_VERSION, SpiegelPaths
from orchestration.release.operators import Operator, release_page_url
from orchestration.release.readiness import PeriodState


class SignoffRefused(RuntimeError):
    pass


def signoff_lock_path(paths: SpiegelPaths):
    """Sign-offs append under this lock (a file of its own, so it can name its holder)."""
    return paths.data_dir / ".signoff.lock"


@dataclass(frozen=True)
class Signoff:
    period: str
    by: str
    comment: str
    at: str
    fingerprint: str
    deliveries: list[dict[str, Any]]
    method_version: str
    signoff_id: str
    # the operator (orchestration/release/operators.py); defaults for the lines written before
    account: str = ""
    account_id: int | None = None
    authenticated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def operator(self) -> Operator:
        return Operator(self.account or self.by, self.account_id, self.authenticated)


_FIELDS = {f.name for f in fields(Signoff)}


def _from_line(record: dict[str, Any]) -> Signoff:
    known = {k: v for k, v in record.items() if k in _FIELDS}
    known.setdefault("account", record.get("by", ""))
    return Signoff(**known)


def read_signoffs(paths: SpiegelPaths, period: str | None = None) -> list[Signoff]:
    if not paths.signoffs.exists():
        return []
    out = []
    for line in _whole_lines(paths.signoffs.read_text(encoding="utf-8")):
        if not line.strip():
            continue
        record = json.loads(line)
        if period is None or record["period"] == period:
            out.append(_from_line(record))
    return out


def _whole_lines(text: str) -> list[str]:
    """The lines that were written whole (ended by a newline); a last line without one was cut short."""
    return text.split("\n")[:-1]


def valid_signoff(paths: SpiegelPaths, state: PeriodState) -> Signoff | None:
    """The newest sign-off that covers exactly the period's current deliveries, if the gates pass."""
    if not state.gates_passed:
        return None
    matching = [s for s in read_signoffs(paths, state.period) if s.fingerprint == state.fingerprint]
    return matching[-1] if matching else None


def record_signoff(paths: SpiegelPaths, state: PeriodState, by: str | Operator, comment: str) -> Signoff:
    """Append a sign-off by ``by`` (an operator, or a typed name); refused while any blocking
    reason stands, and in service mode unless the operator is authenticated."""
    return record_signoff_once(paths, state, by, comment)[0]


def _repeats(earlier: Signoff, state: PeriodState, operator: Operator, comment: str) -> bool:
    """True when ``earlier`` is the sign-off asked for again: same operator, comment, deliveries, method."""
    return (
        earlier.fingerprint == state.fingerprint
        and earlier.method_version == METHOD_VERSION
        and earlier.comment == comment
        and earlier.operator.same_person(operator)
        and earlier.authenticated == operator.authenticated
    )


def _append_whole_line(path, line: str) -> None:
    """Append ``line`` (with its newline) and flush it to disk, or leave the file as it was.

    A cut-short last line (never acknowledged) is removed first; if the write fails (no
    space left), what it wrote is taken back."""
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                f.seek(0)
                whole = f.read().rfind(b"\n") + 1
                f.truncate(whole)
                size = whole
        try:
            f.write(line.encode("utf-8") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            f.truncate(size)
            raise


def record_signoff_once(
    paths: SpiegelPaths, state: PeriodState, by: str | Operator, comment: str
) -> tuple[Signoff, bool]:
    """:func:`record_signoff`, and whether it wrote a line: False when the period already
    has this very sign-off (same person, comment, deliveries and method; then that one is
    returned, and nothing is written)."""
    operator = by if isinstance(by, Operator) else Operator.typed(by)
    if not operator.named:
        raise SignoffRefused("sign-off needs the name of the person signing (--by)")
    if service_mode() and not operator.authenticated:
        raise SignoffRefused(
            f"sign-off for {state.period} refused: service mode: only an authenticated operator may sign off "
            f"(the portal's release page {release_page_url(state.period)}, or `spiegel signoff --token`)"
        )
    if state.cancelled_reason:
        raise SignoffRefused(f"sign-off for {state.period} refused: {state.cancelled_reason}")
    if not state.gates_passed:
        raise SignoffRefused(
            f"sign-off for {state.period} refused: {len(state.blocking_reasons)} blocking reason(s): "
            + " | ".join(state.blocking_reasons)
        )
    now = datetime.now(UTC)
    signoff = Signoff(
        period=state.period,
        by=operator.account,
        comment=comment,
        at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        fingerprint=state.fingerprint,
        deliveries=[
            {k: d[k] for k in ("insurer", "delivery_id", "sha256", "row_count", "paid_amount_total")}
            for d in state.deliveries
        ],
        method_version=METHOD_VERSION,
        signoff_id=f"{state.period}-{now.strftime('%Y%m%dT%H%M%S%fZ')}",
        account=operator.account,
        account_id=operator.account_id,
        authenticated=operator.authenticated,
    )
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(signoff_lock_path(paths), f"the sign-off log {paths.signoffs}"):
        # any earlier line, not only the newest: two operators racing (anna, bram, anna
        # again) must leave anna's sign-off of these deliveries once, whatever the order
        for earlier in reversed(read_signoffs(paths, state.period)):
            if _repeats(earlier, state, operator, comment):
                return earlier, False
        _append_whole_line(paths.signoffs, json.dumps(signoff.as_dict(), sort_keys=True))
    os.chmod(paths.signoffs, 0o600)
    return signoff, True
