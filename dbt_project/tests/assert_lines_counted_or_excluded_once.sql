-- method.md §2: every claim line of the period is either a counted session or an
-- excluded line with one reason, never both, never neither.
with

lines as (
    select insurer_id, source_line from {{ ref('int_claim_lines') }}
    where period = '{{ spiegel_period() }}'
),

verdicts as (
    select insurer_id, source_line from {{ ref('int_counted_sessions') }}
    where period = '{{ spiegel_period() }}'
    union all
    select insurer_id, source_line from {{ ref('int_excluded_lines') }}
    where period = '{{ spiegel_period() }}'
),

verdicts_per_line as (
    select insurer_id, source_line, count(*) as verdicts
    from verdicts
    group by insurer_id, source_line
),

final as (
    select
        coalesce(lines.insurer_id, verdicts_per_line.insurer_id) as insurer_id,
        coalesce(lines.source_line, verdicts_per_line.source_line) as source_line,
        coalesce(verdicts_per_line.verdicts, 0) as verdicts,
        lines.source_line is not null as is_claim_line
    from lines
    full outer join verdicts_per_line
        on lines.insurer_id = verdicts_per_line.insurer_id
        and lines.source_line = verdicts_per_line.source_line
)

select * from final
where verdicts <> 1 or not is_claim_line
