-- method.md §2: claim lines that do not count, per insurer and reason (the one reason
-- each line gets, macros/claim_line_exclusion_reason.sql), with their paid_amount.
with

verdicts as (

    select
        period,
        insurer_id,
        reason,
        lines,
        paid_amount
    from {{ ref('int_line_verdict_summary') }}
    where period = '{{ spiegel_period() }}'
        and reason is not null

),

final as (

    select
        period,
        insurer_id,
        reason,
        cast(sum(lines) as bigint) as lines,
        sum(paid_amount) as paid_amount
    from verdicts
    group by period, insurer_id, reason

)

select * from final
