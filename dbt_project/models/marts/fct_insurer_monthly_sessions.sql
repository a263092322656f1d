-- method.md §1–§2: per insurer with an accepted delivery in force and per month of the
-- period (service_date, `YYYY-MM`; every month of the period, 0 when empty): the claim
-- lines with a service date in the month, the counted sessions among them and their
-- summed paid_amount (debits, rejections and credits, as delivered). Lines dated
-- outside the period are not here (they are in fct_excluded_lines). The lines and the
-- paid amount are those of the month profile of macros/delivery_facts.sql, the one the
-- completeness gate computes for each delivery; here they are summed from
-- int_line_verdict_summary (every line of the period is in exactly one of its groups,
-- is_in_period says whether its service date lies in the period) instead of from a
-- third pass over the period's claim lines (45 million at national scale).
with

deliveries as (

    select
        period,
        insurer_id,
        period_start,
        period_end
    from {{ ref('int_period_deliveries') }}
    where period = '{{ spiegel_period() }}'

),

verdicts as (

    select
        period,
        insurer_id,
        service_month,
        is_in_period,
        reason,
        lines,
        paid_amount
    from {{ ref('int_line_verdict_summary') }}
    where period = '{{ spiegel_period() }}'

),

months as (

    -- a join (deliveries × the months of months_between_as_rows) that sqlfluff sees as one table
    select
        deliveries.period,  -- noqa: RF03
        deliveries.insurer_id,  -- noqa: RF03
        {{ year_month('months.month_start') }} as month
    from deliveries
    cross join {{ months_between_as_rows('deliveries.period_start', 'deliveries.period_end', 'months') }}

),

lines_per_month as (

    select
        insurer_id,
        service_month as month,
        cast(sum(lines) as bigint) as claim_lines,
        coalesce(sum(paid_amount), 0) as paid_amount
    from verdicts
    where is_in_period
    group by insurer_id, service_month

),

sessions_per_month as (

    select
        period,
        insurer_id,
        service_month as month,
        cast(sum(lines) as bigint) as counted_sessions
    from verdicts
    where reason is null
    group by period, insurer_id, service_month

),

final as (

    select
        months.period,
        months.insurer_id,
        months.month,
        coalesce(lines_per_month.claim_lines, 0) as claim_lines,
        coalesce(sessions_per_month.counted_sessions, 0) as counted_sessions,
        coalesce(lines_per_month.paid_amount, 0) as paid_amount
    from months
    left join lines_per_month
        on months.insurer_id = lines_per_month.insurer_id
        and months.month = lines_per_month.month
    left join sessions_per_month
        on months.period = sessions_per_month.period
        and months.insurer_id = sessions_per_month.insurer_id
        and months.month = sessions_per_month.month

)

select * from final
