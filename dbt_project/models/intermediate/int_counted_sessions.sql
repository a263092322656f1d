{{ config(materialized='view') }}
-- method.md §2: the counted sessions, the lines for which every rule of §2 holds
-- (macro claim_line_exclusion_reason() is null). One row per claim line.
with

netted_lines as (

    select
        period,
        insurer_id,
        insurer_bit,
        delivery_id,
        source_line,
        claim_id,
        discipline,
        prestatie_code,
        prestatie_category,
        coverage,
        practice_agb,
        therapist_agb,
        patient_id,
        birth_date,
        sex,
        dcsph_code,
        indication_code,
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

final as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        insurer_id,
        insurer_bit,
        delivery_id,
        source_line,
        claim_id,
        therapist_agb,
        prestatie_code,
        birth_date,
        sex,
        indication_code,
        service_date,
        {{ year_month('service_date') }} as service_month,
        paid_amount,
        net_paid_amount
    from netted_lines
    where ({{ claim_line_exclusion_reason() }}) is null

)

select * from final
