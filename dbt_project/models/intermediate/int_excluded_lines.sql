{{ config(materialized='view') }}
-- method.md §2: every claim line that is not a counted session, with exactly one
-- reason: the first rule of §2 it fails, in the fixed order documented in
-- macros/claim_line_exclusion_reason.sql.
with

netted_lines as (

    select
        period,
        insurer_id,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        discipline,
        code_list,
        prestatie_code,
        prestatie_category,
        coverage,
        practice_agb,
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
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        code_list,
        prestatie_code,
        coverage,
        practice_agb,
        service_date,
        processed_date,
        paid_amount,
        net_paid_amount,
        {{ claim_line_exclusion_reason() }} as reason
    from netted_lines

),

final as (

    select
        period,
        insurer_id,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        reason,
        code_list,
        prestatie_code,
        coverage,
        practice_agb,
        service_date,
        processed_date,
        paid_amount,
        net_paid_amount
    from verdicts
    where reason is not null

)

select * from final
