-- method.md §2: every claim line of the period is either a counted session or an
-- excluded line with one reason. Per insurer, the lines of the delivery in force (its
-- row count as the contract checked it) equal the counted sessions
-- (fct_insurer_monthly_sessions) plus the excluded lines (fct_excluded_lines): the
-- whole chain from the delivery to the marts, checked without another pass over 45
-- million lines. Both marts are decided by one expression per line
-- (macros/claim_line_exclusion_reason.sql), so a line cannot be in both or neither
-- without changing this sum.
with

deliveries as (
    select
        insurer_id,
        delivery_id
    from {{ ref('int_period_deliveries') }}
    where period = '{{ spiegel_period() }}'
),

delivered as (
    select
        deliveries.insurer_id,
        stg.row_count as lines
    from deliveries
    inner join {{ ref('stg_raw__deliveries') }} as stg
        on stg.period = '{{ spiegel_period() }}'
        and deliveries.insurer_id = stg.insurer_id
        and deliveries.delivery_id = stg.delivery_id
),

counted as (
    select
        insurer_id,
        sum(counted_sessions) as counted
    from {{ ref('fct_insurer_monthly_sessions') }}
    where period = '{{ spiegel_period() }}'
    group by insurer_id
),

excluded as (
    select
        insurer_id,
        sum(lines) as excluded
    from {{ ref('fct_excluded_lines') }}
    where period = '{{ spiegel_period() }}'
    group by insurer_id
),

final as (
    select
        delivered.insurer_id,
        delivered.lines,
        coalesce(counted.counted, 0) as counted,
        coalesce(excluded.excluded, 0) as excluded
    from delivered
    left join counted
        on delivered.insurer_id = counted.insurer_id
    left join excluded
        on delivered.insurer_id = excluded.insurer_id
)

select * from final
where lines <> counted + excluded
