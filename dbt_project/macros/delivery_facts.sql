{#- Facts that both the delivery gates and the method need, defined once.

    The gates judge one delivery before the method runs (expectations/sql/, per period
    and insurer); the method computes the same facts for all accepted deliveries of a
    period. Both use these macros: dbt as macros of this project, the gates by rendering
    this file with plain Jinja (orchestration/gates/dbt_macros.py). So the macros here use
    no dbt context (no ref, source, var, adapter or target); the only macros they call are
    the dialect macros of dialect.sql, which the gates render in DuckDB's spelling.

    `lines` is the name of a relation or CTE of claim lines with at least the columns a
    macro names; every fact is per `insurer_id` (a delivery is one insurer's). -#}


{#- method.md §2.5: the orphan credits among `lines` (insurer_id, source_line,
    claim_id, original_claim_id, paid_amount): credit lines (paid_amount < 0) whose
    original_claim_id is empty or not a claim_id of the same insurer's lines. One row
    per orphan credit line: insurer_id, source_line, claim_id, original_claim_id.

    Credits are a few percent of the lines, so both joins build their hash tables on
    the credits and only probe with the lines: no step hashes every claim_id (at
    national scale 45 million). -#}
{% macro orphan_credit_lines(lines) -%}
    select
        credit_lines.insurer_id,
        credit_lines.source_line,
        credit_lines.claim_id,
        credit_lines.original_claim_id
    from {{ lines }} as credit_lines
    left join (
        select distinct
            claimed.insurer_id,
            claimed.claim_id
        from {{ lines }} as claimed
        inner join (
            select distinct
                insurer_id,
                original_claim_id
            from {{ lines }}
            where paid_amount < 0
                and original_claim_id is not null
        ) as credited_originals
            on claimed.insurer_id = credited_originals.insurer_id
            and claimed.claim_id = credited_originals.original_claim_id
    ) as credited_claim_ids
        on credit_lines.insurer_id = credited_claim_ids.insurer_id
        and credit_lines.original_claim_id = credited_claim_ids.claim_id
    where credit_lines.paid_amount < 0
        and credited_claim_ids.claim_id is null
{%- endmacro %}


{#- The month profile of `lines` (insurer_id, service_date, prestatie_category,
    paid_amount), per insurer and month of the service date (`YYYY-MM`): the claim
    lines, the session lines among them (category `session`, paid_amount > 0), the
    credit lines (paid_amount < 0) and the summed paid_amount (debits, rejections and
    credits, as delivered). Months without a line have no row; the caller restricts
    `lines` to the period's dates. The completeness gate compares a delivery's profile
    with the insurer's previous one; fct_insurer_monthly_sessions reports the same lines
    and paid amount per month, summed from int_line_verdict_summary (no third pass over
    the lines). -#}
{% macro claim_lines_per_month(lines) -%}
    select
        insurer_id,
        {{ year_month('service_date') }} as month,
        cast(count(*) as bigint) as claim_lines,
        cast(sum(case when prestatie_category = 'session' and paid_amount > 0 then 1 else 0 end)
            as bigint) as session_lines,
        cast(sum(case when paid_amount < 0 then 1 else 0 end) as bigint) as credit_lines,
        coalesce(sum(paid_amount), 0) as paid_amount
    from {{ lines }}
    group by insurer_id, {{ year_month('service_date') }}
{%- endmacro %}
