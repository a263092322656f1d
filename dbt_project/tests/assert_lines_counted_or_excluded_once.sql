-- method.md §2: every claim line of the period is either a counted session or an
-- excluded line with one reason: per insurer, the lines of int_claim_lines are exactly
-- as many as the counted sessions plus the excluded lines. (Counting instead of joining
-- line by line: at national scale a join of 45 million lines would cost more than the
-- method; a line in both or in neither would change one of the two sides.)
with

lines as (
    select insurer_id, count(*) as lines
    from {{ ref('int_claim_lines') }}
    where period = '{{ spiegel_period() }}'
    group by insurer_id
),

counted as (
    select insurer_id, count(*) as counted
    from {{ ref('int_counted_sessions') }}
    where period = '{{ spiegel_period() }}'
    group by insurer_id
),

excluded as (
    select insurer_id, count(*) as excluded
    from {{ ref('int_excluded_lines') }}
    where period = '{{ spiegel_period() }}'
    group by insurer_id
),

final as (
    select
        lines.insurer_id,
        lines.lines,
        coalesce(counted.counted, 0) as counted,
        coalesce(excluded.excluded, 0) as excluded
    from lines
    left join counted
        on lines.insurer_id = counted.insurer_id
    left join excluded
        on lines.insurer_id = excluded.insurer_id
)

select * from final
where lines <> counted + excluded
