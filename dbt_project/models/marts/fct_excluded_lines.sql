-- method.md §2: claim lines that do not count, per insurer and reason (one reason per
-- line, see macros/claim_line_exclusion_reason.sql), with their summed paid_amount.
with

excluded_lines as (

    select
        period,
        insurer_id,
        reason,
        paid_amount
    from {{ ref('int_excluded_lines') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        period,
        insurer_id,
        reason,
        count(*) as lines,
        sum(paid_amount) as paid_amount
    from excluded_lines
    group by period, insurer_id, reason

)

select * from final
