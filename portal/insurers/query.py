"""The query string of the index table page and its downloads: filters, sort order and page.

Every parameter is validated strictly by one form; a value that does not pass is left out
(the page says which, in Dutch) instead of answering 400 or 500, so a hand-edited or stale
link still shows the table. The same parsing serves the downloads, so a download holds
exactly the rows the page showed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms

from portal.releases import catalog, index_table
from reports import labels

FILTER_FIELDS = ("discipline", "status", "practice_agb", "min_corrected", "max_corrected")
SORT_FIELDS = ("sort", "order")
STATUS_LABELS = {"ok": "met index", "insufficient_patients": "minder dan 30 patiënten"}
SORT_LABELS = {
    "practice_agb": "AGB-code",
    "discipline": "discipline",
    "status": "status",
    "patients": "patiënten",
    "behandelindex": "behandelindex",
    "corrected_index": "gecorrigeerde index",
}
CHOICE_ERRORS = {"invalid_choice": "deze waarde staat niet in de lijst."}  # never echo the request's text
_DECIMAL = re.compile(r"^-?[0-9]{1,6}(?:[.,][0-9]{1,12})?\Z")


class DecimalText(forms.CharField):
    """A number as a Dutch user types it (97,5 or 97.5); the form keeps the text, the query
    the float. A strict pattern: no exponents, no nan or inf, no thousands separators."""

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=20, **kwargs)

    def clean(self, value):
        text = super().clean(value).strip()
        if text and not _DECIMAL.match(text):
            raise forms.ValidationError("vul een getal in, bijvoorbeeld 95 of 97,5.")
        return text


class IndexQueryForm(forms.Form):
    discipline = forms.ChoiceField(
        error_messages=CHOICE_ERRORS,
        label="Discipline",
        required=False,
        choices=[("", "alle disciplines")] + [(d, labels.DISCIPLINE_LABEL[d]) for d in catalog.DISCIPLINES],
    )
    status = forms.ChoiceField(
        error_messages=CHOICE_ERRORS,
        label="Status",
        required=False,
        choices=[("", "alle statussen")] + [(s, STATUS_LABELS[s]) for s in index_table.STATUSES],
    )
    practice_agb = forms.RegexField(
        label="AGB-code",
        regex=r"^[0-9]{8}\Z",
        required=False,
        max_length=8,
        strip=True,
        error_messages={"invalid": "een AGB-code bestaat uit 8 cijfers."},
    )
    min_corrected = DecimalText(label="Gecorrigeerde index vanaf")
    max_corrected = DecimalText(label="Gecorrigeerde index tot en met")
    sort = forms.ChoiceField(
        error_messages=CHOICE_ERRORS,
        label="Sorteren op",
        required=False,
        choices=[(k, SORT_LABELS[k]) for k in index_table.SORT_KEYS],
    )
    order = forms.ChoiceField(
        error_messages=CHOICE_ERRORS,
        label="Volgorde",
        required=False,
        choices=[("asc", "oplopend"), ("desc", "aflopend")],
    )

    def clean(self):
        data = super().clean()
        low, high = _number(data.get("min_corrected")), _number(data.get("max_corrected"))
        if low is not None and high is not None and low > high:
            data.pop("min_corrected", None)
            data.pop("max_corrected", None)
            raise forms.ValidationError(
                "De ondergrens van de gecorrigeerde index is groter dan de bovengrens; "
                "beide grenzen zijn niet toegepast."
            )
        return data


def _number(text: str | None) -> float | None:
    return float(text.replace(",", ".")) if text else None


@dataclass(frozen=True)
class IndexQuery:
    """What a request asks of one period's index table, after validation."""

    filter: index_table.IndexFilter = index_table.IndexFilter()
    sort: str = "practice_agb"
    descending: bool = False
    sort_given: bool = False  # the downloads keep the file's order unless a sort was asked for
    params: dict[str, str] = field(default_factory=dict)  # the valid values, as typed
    ignored: tuple[str, ...] = ()  # Dutch sentences: what was left out and why
    form: IndexQueryForm | None = None

    @property
    def filtered(self) -> bool:
        return any(self.params.get(name) for name in FILTER_FIELDS)

    def querystring(self, *, with_sort: bool = True, **overrides: str) -> str:
        """``?...`` of the valid parameters (with ``overrides``), empty when there are none."""
        names = FILTER_FIELDS + (SORT_FIELDS if with_sort else ())
        values = {name: self.params[name] for name in names if self.params.get(name)}
        values.update({k: v for k, v in overrides.items() if v})
        return "?" + urlencode(values) if values else ""

    def describe(self) -> str:
        """The filters and sort for the audit log, e.g. ``discipline=fysiotherapie sort=patients desc``."""
        parts = [f"{name}={self.params[name]}" for name in FILTER_FIELDS if self.params.get(name)]
        if self.sort_given:
            parts.append(f"sort={self.sort} {'desc' if self.descending else 'asc'}")
        return " ".join(parts) or "no filter"


def parse(data) -> IndexQuery:
    """The query of a QueryDict (request.GET). Unknown parameters are ignored silently;
    known ones with a bad value are left out, with a sentence saying so."""
    form = IndexQueryForm(data={name: data.get(name, "") for name in FILTER_FIELDS + SORT_FIELDS})
    form.is_valid()
    cleaned = form.cleaned_data
    ignored = [
        f"{form.fields[name].label}: {error} "
        + ("De standaardvolgorde is gebruikt." if name in SORT_FIELDS else "Dit filter is niet toegepast.")
        for name in form.errors
        for error in form.errors[name]
        if name != "__all__"
    ]
    ignored += list(form.non_field_errors())
    params = {name: cleaned[name] for name in FILTER_FIELDS + SORT_FIELDS if cleaned.get(name)}
    index_filter = index_table.IndexFilter(
        discipline=params.get("discipline", ""),
        practice_agb=params.get("practice_agb", ""),
        status=params.get("status", ""),
        min_corrected=_number(params.get("min_corrected")),
        max_corrected=_number(params.get("max_corrected")),
    )
    return IndexQuery(
        filter=index_filter,
        sort=params.get("sort", "practice_agb"),
        descending=params.get("order") == "desc",
        sort_given="sort" in params or "order" in params,
        params=params,
        ignored=tuple(ignored),
        form=form,
    )


def select(rows: list[dict[str, str]], query: IndexQuery, *, keep_file_order: bool = False) -> list[dict[str, str]]:
    """The rows that match, sorted as asked (the page always sorts; a download keeps the
    published file's order unless a sort was asked for, so the whole table is the file)."""
    matching = query.filter.apply(rows)
    if keep_file_order and not query.sort_given:
        return matching
    return index_table.sort_rows(matching, query.sort, query.descending)
