"""The shapes of the read API's responses, for its OpenAPI schema (drf-spectacular).

The views build plain dicts from the published files; these serializers describe them, so
that the schema at /api/v1/schema/ is the contract that the schema-driven tests hold the
responses to (tests/portal/test_api_schema.py)."""

from __future__ import annotations

from rest_framework import serializers

from portal.releases import index_table


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, in Dutch (and English where it helps).")


class PeriodSerializer(serializers.Serializer):
    period = serializers.RegexField(r"^[0-9]{4}-v[1-3]$", help_text="YYYY-vN")
    label = serializers.CharField(help_text="e.g. '2024 versie 3 (januari–december)'")
    state = serializers.ChoiceField(
        choices=["voorbereiding", "gepubliceerd", "uitgesteld", "vervallen"],
        help_text="The calendar state (portal.md, 'Release calendar and notices').",
    )
    planned_date = serializers.DateField()
    first_published_on = serializers.DateField(allow_null=True)
    published_on = serializers.DateField(allow_null=True, help_text="Of the newest revision.")
    revision = serializers.CharField(allow_null=True, help_text="The newest revision, e.g. 'r2'.")
    cancelled_reason = serializers.CharField(allow_blank=True)


class PeriodListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = PeriodSerializer(many=True)


class ReferenceSerializer(serializers.Serializer):
    period = serializers.CharField()
    revision = serializers.CharField()
    count = serializers.IntegerField()
    results = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        help_text="The rows of reference_strata.csv, each cell as the file writes it.",
    )


class IndexRowSerializer(serializers.Serializer):
    """One row of behandelindex.csv (cli.md), numbers as numbers, empty cells as null."""

    period = serializers.CharField()
    discipline = serializers.ChoiceField(choices=["fysiotherapie", "oefentherapie"])
    practice_agb = serializers.RegexField(r"^[0-9]{8}$")
    status = serializers.ChoiceField(choices=list(index_table.STATUSES))
    patients = serializers.IntegerField(allow_null=True)
    episodes = serializers.IntegerField(allow_null=True)
    sessions = serializers.IntegerField(allow_null=True)
    expected_sessions = serializers.FloatField(allow_null=True)
    behandelindex = serializers.FloatField(allow_null=True)
    ci_lower = serializers.FloatField(allow_null=True)
    ci_upper = serializers.FloatField(allow_null=True)
    corrected_index = serializers.FloatField(
        allow_null=True, help_text="The interval's lower bound: the figure insurers contract on."
    )


class IndexPageSerializer(serializers.Serializer):
    period = serializers.CharField()
    revision = serializers.CharField()
    count = serializers.IntegerField(help_text="Rows matching the filters (that the caller may read).")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = IndexRowSerializer(many=True)


class MovementSerializer(serializers.Serializer):
    """method.md §10: why the index moved since the previous published version."""

    from_period = serializers.CharField()
    bi_from = serializers.FloatField()
    bi_to = serializers.FloatField()
    own_points = serializers.FloatField()
    case_mix_points = serializers.FloatField()
    reference_points = serializers.FloatField()


class PracticePeriodSerializer(IndexRowSerializer):
    revision = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    movement = MovementSerializer(allow_null=True)


class PracticeSerializer(serializers.Serializer):
    practice_agb = serializers.RegexField(r"^[0-9]{8}$")
    practice_name = serializers.CharField(allow_blank=True)
    place = serializers.CharField(allow_blank=True)
    results = PracticePeriodSerializer(many=True, help_text="Newest period first; one row per discipline.")
