-- method.md §2: how many claim lines of each insurer, service month, practice and
-- therapist got which verdict (reason is null: a counted session; otherwise the one
-- exclusion reason of macros/claim_line_exclusion_reason.sql), with their paid_amount
-- as delivered. One pass over the period's lines feeds fct_insurer_monthly_sessions,
-- fct_excluded_lines and the therapists of fct_practice_profile (at national scale
-- each pass over 45 million lines costs seconds; these 5 million rows cost little to
-- read three times).
with

netted_lines as (

    select
        period,
        insurer_id,
        discipline,
        practice_agb,
        therapist_agb,
        prestatie_category,
        coverage,
        birth_date,
        service_date,
        processed_date,
        paid_amount,
        net_paid_amount,
        is_orphan_credit,
        period_start,
        period_end,
        cutoff_date,
        in_exclusion_window
    from {{ ref('int_claim_lines_netted') }}
    where period = '{{ spiegel_period() }}'

),

verdicts as (

    select
        period,
        insurer_id,
        discipline,
        practice_agb,
        therapist_agb,
        {{ year_month('service_date') }} as service_month,
        coalesce(service_date between period_start and period_end, false) as is_in_period,
        {{ claim_line_exclusion_reason() }} as reason,
        paid_amount
    from netted_lines

),

final as (

    select
        period,
        insurer_id,
        discipline,
        practice_agb,
        therapist_agb,
        service_month,
        is_in_period,
        reason,
        count(*) as lines,
        sum(paid_amount) as paid_amount
    from verdicts
    group by period, insurer_id, discipline, practice_agb, therapist_agb, service_month, is_in_period, reason

)

select * from final
