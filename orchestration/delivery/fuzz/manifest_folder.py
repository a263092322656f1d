"""Mutations of the manifest (every field deleted, given another JSON type or another
value; its bytes cut, re-encoded, nested, blown up) and of the delivery folder (extra,
missing, linked or odd entries and names). Each says what the contract must do with it."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from orchestration.core.seeds import periods
from orchestration.delivery.contract.rules import DATA_FILE_NAMES, MAX_MANIFEST_BYTES
from orchestration.delivery.fuzz.model import (
    HARMLESS,
    REJECT,
    UNSEEN,
    Draft,
    Expectation,
    is_real_date,
    render_manifest,
    render_payload,
)
from orchestration.delivery.fuzz.values import (
    HEX,
    JSON_VALUES,
    Mutated,
    all_insurers,
    all_periods,
    file_names,
    iso_dates,
    usable_name,
)
from orchestration.landing.zone import DELIVERY_ID_PATTERN, MANIFEST_NAME

TOP_FIELDS = {
    "contract_version": int,
    "insurer": str,
    "period": str,
    "delivery_id": str,
    "period_start": str,
    "period_end": str,
    "cutoff_date": str,
    "files": list,
}
ENTRY_FIELDS = {"name": str, "sha256": str, "rows": int, "paid_amount_total": str}


def _json_type(value: Any) -> type:
    return bool if isinstance(value, bool) else type(value)


def _other_type(typ: type) -> st.SearchStrategy[Any]:
    return JSON_VALUES.filter(lambda v: _json_type(v) is not typ)


def _other_value(draw, d: Draft, key: str, current: Any) -> tuple[Any, Expectation]:
    """Another value of the right type for a field, and what the contract must say."""
    if key == "contract_version":
        value = draw(st.one_of(st.integers(), st.sampled_from([0, 2, -1, 2**63])).filter(lambda v: v != 1))
        return value, Expectation(REJECT, frozenset({"manifest.contract_version"}))
    if key in ("insurer", "period", "delivery_id"):
        pool = {
            "insurer": all_insurers(),
            "period": all_periods(),
            "delivery_id": [d.delivery_id + "x", "../" + d.delivery_id],
        }
        value = draw(st.one_of(st.sampled_from(pool[key]), st.text(max_size=10)).filter(lambda v: v != current))
        return value, Expectation(REJECT, frozenset({f"manifest.{key}"}))
    if key in ("period_start", "period_end", "cutoff_date"):
        value = draw(
            st.one_of(iso_dates, st.text(max_size=12), iso_dates.map(lambda t: t + "\n")).filter(lambda v: v != current)
        )
        shaped = is_real_date(value) or (
            len(value) == 10
            and value[4] == "-"
            and value[7] == "-"
            and value.replace("-", "").isascii()
            and value.replace("-", "").isdigit()
        )
        return value, Expectation(REJECT, frozenset({f"manifest.{key}" if shaped else "manifest.fields"}))
    if key == "name":
        value = draw(
            st.one_of(st.sampled_from([*DATA_FILE_NAMES, "../claims.csv", "claims.CSV"]), st.text(max_size=12))
        )
        assume(value != current)
        return value, Expectation(REJECT, frozenset({"file.present" if value in DATA_FILE_NAMES else "manifest.files"}))
    if key == "sha256":
        value = draw(
            st.one_of(
                st.just(current.upper()),
                st.text(alphabet=HEX, min_size=64, max_size=64),
                st.text(max_size=70),
                st.just(current + "\n"),
            ).filter(lambda v: v != current)
        )
        hex64 = len(value) == 64 and all(ch in HEX for ch in value)
        return value, Expectation(REJECT, frozenset({"file.checksum" if hex64 else "manifest.files"}))
    if key == "rows":
        value = draw(
            st.one_of(st.integers(), st.just(2_000_000_000), st.just(current + 1)).filter(lambda v: v != current)
        )
        return value, Expectation(REJECT, frozenset({"file.row_count" if value >= 0 else "manifest.files"}))
    # paid_amount_total: another decimal string (the same amount written otherwise is harmless)
    value = draw(
        st.one_of(
            st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,3})?", fullmatch=True),
            st.just(current.rstrip("0") if "." in current else current),
            st.just("0" + current.lstrip("-")),
            st.sampled_from([current + "\n", " " + current, current + "0", current.replace(".", ",")]),
            st.text(max_size=10),
        ).filter(lambda v: v != current)
    )
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", value):
        return value, Expectation(REJECT, frozenset({"manifest.files"}))
    try:
        same = Decimal(value) == Decimal(current)
    except InvalidOperation:
        same = False
    return value, Expectation(HARMLESS) if same else Expectation(REJECT, frozenset({"claims.control_total"}))


def _manifest_field(draw, d: Draft) -> Mutated:
    in_entry = draw(st.booleans())
    fields = ENTRY_FIELDS if in_entry else TOP_FIELDS
    key = draw(st.sampled_from(sorted(fields)))
    rule = "manifest.files" if in_entry else "manifest.fields"
    how = draw(st.sampled_from(["delete", "retype", "other"]))
    payload = render_payload(d)
    current = json.loads(render_manifest(d, payload).decode("utf-8-sig"))
    current = current["files"][0][key] if in_entry else current[key]
    if how == "delete":
        value, expectation = None, Expectation(REJECT, frozenset({rule}))
    elif how == "retype":
        value = draw(_other_type(fields[key]))
        expectation = Expectation(REJECT, frozenset({rule}))
        if key == "files":  # a list of one non-object, or another length
            expectation = Expectation(REJECT, frozenset({"manifest.fields"}))
    elif key == "files":
        value = draw(st.sampled_from(["empty", "two", "not an object"]))
        expectation = Expectation(REJECT, frozenset({"manifest.files"}))
    else:
        value, expectation = _other_value(draw, d, key, current)

    def edit(m: dict[str, Any]) -> None:
        target = m["files"][0] if in_entry else m
        if how == "delete":
            del target[key]
        elif key == "files" and how == "other":
            target["files"] = {"empty": [], "two": [m["files"][0], m["files"][0]], "not an object": ["claims.csv"]}[
                value
            ]
        else:
            target[key] = value

    d.manifest_edits.append(edit)
    where = "files[0]." if in_entry else ""
    return f"manifest {where}{key}: {how} {value!r:.80}", expectation


def _manifest_bytes(draw, d: Draft) -> Mutated:
    """The manifest's bytes broken: truncated, re-encoded, not an object, nested, huge."""
    how = draw(
        st.sampled_from(["cut", "bad_utf8", "utf16", "array", "scalar", "nesting", "oversize", "giant_value", "digits"])
    )
    if how == "digits":  # a number of thousands of digits (Python refuses to convert one)
        n = draw(st.sampled_from([5000, 200_000]))
        d.raw_values["__rows__"] = "9" * n
        d.manifest_edits.append(lambda m: m["files"][0].__setitem__("rows", "__rows__"))
        return f"rows is a number of {n} digits", Expectation(REJECT, frozenset({"manifest.json", "manifest.files"}))
    if how == "giant_value":  # 0.9 MB (under the manifest's limit) or 5 MB in one field
        key = draw(st.sampled_from(sorted(TOP_FIELDS.keys() - {"files", "contract_version"})))
        size = draw(st.sampled_from([900_000, 5_000_000]))
        d.manifest_edits.append(lambda m: m.__setitem__(key, "x" * size))
        rules = {"manifest.json"} if size > MAX_MANIFEST_BYTES else {f"manifest.{key}", "manifest.fields"}
        return f"manifest {key} of {size} characters", Expectation(REJECT, frozenset(rules))
    where = draw(st.floats(0, 1))
    edits = {
        "cut": lambda b: b[: int(where * len(b))],
        "bad_utf8": lambda b: b[: int(where * len(b))] + b"\xff" + b[int(where * len(b)) :],
        "utf16": lambda b: b.decode("utf-8-sig").encode("utf-16"),
        "array": lambda b: b"[" + b + b"]",
        "scalar": lambda b: json.dumps(b.decode("utf-8-sig")).encode(),
        "nesting": lambda b: b"[" * 400_000 + b"]" * 400_000,
        "oversize": lambda b: b + b" " * (MAX_MANIFEST_BYTES + 1),
    }
    d.manifest_byte_edits.append(edits[how])
    untouched = Draft(**{**d.__dict__, "manifest_byte_edits": []})
    original = json.loads(render_manifest(untouched, render_payload(d)).decode("utf-8-sig"))
    data = render_manifest(d, render_payload(d))
    return f"manifest bytes: {how} at {where:.3f}", _manifest_reference(data, original)


def _manifest_reference(data: bytes, original: dict[str, Any]) -> Expectation:
    """What the contract must say of manifest bytes: JSON (RFC 8259) as Python reads it."""
    if len(data) > MAX_MANIFEST_BYTES or not data.strip():
        return Expectation(REJECT, frozenset({"manifest.json"}))
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return Expectation(REJECT, frozenset({"manifest.json"}))
    if not isinstance(parsed, dict):
        return Expectation(REJECT, frozenset({"manifest.json"}))
    return Expectation(HARMLESS) if parsed == original else Expectation(REJECT)


MANIFEST_MUTATIONS: dict[str, Callable[[Any, Draft], Mutated]] = {
    "field": _manifest_field,
    "bytes": _manifest_bytes,
}


# ------------------------------------------------------------------------------ folder


def _folder_entry_expectation(name: str, d: Draft) -> Expectation:
    if name in DATA_FILE_NAMES:
        return Expectation(REJECT, frozenset({"file.ambiguous"}))
    if "manifest" in name:
        return Expectation(REJECT, frozenset({"manifest.ambiguous"}))
    return Expectation(HARMLESS)


def _extra_entry(draw, d: Draft) -> Mutated:
    kind = draw(st.sampled_from(["file", "folder", "link_outside", "dangling_link"]))
    name = draw(st.one_of(file_names(), st.sampled_from([*DATA_FILE_NAMES, "manifest (1).json", "manifest.json.bak"])))
    assume(name not in (d.data_name, MANIFEST_NAME) and name not in d.entries)
    d.entries.add(name)

    def edit(folder: Path, outside: Path) -> None:
        if kind == "file":
            (folder / name).write_bytes(b"extra\n")
        elif kind == "folder":
            (folder / name).mkdir()
        elif kind == "link_outside":
            (outside / "target").write_bytes(b"outside the landing zone\n")
            os.symlink(outside / "target", folder / name)
        else:
            os.symlink(outside / "nothing-here", folder / name)

    d.folder_edits.append(edit)
    return f"an extra {kind} {name!r}", _folder_entry_expectation(name, d)


def _data_file_entry(draw, d: Draft) -> Mutated:
    how = draw(st.sampled_from(["missing", "folder", "fifo", "link_outside", "link_inside", "dangling_link"]))

    def edit(folder: Path, outside: Path) -> None:
        path = folder / d.data_name
        if how == "link_outside":
            path.rename(outside / "claims-elsewhere")
            os.symlink(outside / "claims-elsewhere", path)
            return
        if how == "link_inside":  # to a copy elsewhere inside the landing zone
            copy = folder.parent.parent.parent / "copy-of-claims"
            copy.write_bytes(path.read_bytes())
            path.unlink()
            os.symlink(copy, path)
            return
        path.unlink()
        if how == "folder":
            path.mkdir()
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "dangling_link":
            os.symlink(outside / "nothing-here", path)

    d.folder_edits.append(edit)
    rule = "landing.symlink" if "link" in how else "file.present"
    return f"the claims file: {how}", Expectation(REJECT, frozenset({rule}))


def _manifest_entry(draw, d: Draft) -> Mutated:
    how = draw(st.sampled_from(["missing", "folder", "fifo", "link_outside"]))

    def edit(folder: Path, outside: Path) -> None:
        path = folder / MANIFEST_NAME
        if how == "link_outside":
            path.rename(outside / "manifest-elsewhere")
            os.symlink(outside / "manifest-elsewhere", path)
            return
        path.unlink()
        if how == "folder":
            path.mkdir()
        elif how == "fifo":
            os.mkfifo(path)

    d.folder_edits.append(edit)
    if how == "missing":
        return "no manifest (an upload in progress)", Expectation(UNSEEN)
    rule = "landing.symlink" if how == "link_outside" else "manifest.json"
    return f"the manifest: {how}", Expectation(REJECT, frozenset({rule}))


def _folder_link(draw, d: Draft) -> Mutated:
    d.folder_is_link = True
    return "the delivery folder is a link to a folder outside the landing zone", Expectation(
        REJECT, frozenset({"landing.symlink"})
    )


def _folder_names(draw, d: Draft) -> Mutated:
    level = draw(st.sampled_from(["delivery", "insurer", "period"]))
    name = draw(st.text(min_size=1, max_size=70).filter(usable_name))
    if level == "delivery":
        assume(not DELIVERY_ID_PATTERN.fullmatch(name))
        d.folder_name = name
        d.manifest_edits.append(lambda m: m.__setitem__("delivery_id", name))
        return f"delivery folder named {name!r}", Expectation(REJECT, frozenset({"landing.delivery_id"}))
    if level == "insurer":
        assume(name not in all_insurers())
        d.insurer_folder = name
    else:
        assume(name not in periods() and name != "_register")
        d.period_folder = name
    return f"{level} folder named {name!r}", Expectation(UNSEEN)


FOLDER_MUTATIONS: dict[str, Callable[[Any, Draft], Mutated]] = {
    "extra_entry": _extra_entry,
    "data_file": _data_file_entry,
    "manifest_file": _manifest_entry,
    "folder_link": _folder_link,
    "folder_names": _folder_names,
}
