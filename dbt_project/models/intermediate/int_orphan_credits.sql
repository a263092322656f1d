{{ config(materialized='view') }}
-- method.md §2.5: orphan credits, credit lines whose original_claim_id is empty or not
-- a claim_id of the same insurer's delivery, line by line for inspection. A
-- data-quality warning (test warn_orphan_credits counts them in fct_excluded_lines,
-- reason orphan_credit); otherwise ignored by the method.
with

netted_lines as (

    select
        period,
        insurer_id,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        code_list,
        prestatie_code,
        practice_agb,
        service_date,
        processed_date,
        paid_amount,
        is_orphan_credit
    from {{ ref('int_claim_lines_netted') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        period,
        insurer_id,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        code_list,
        prestatie_code,
        practice_agb,
        service_date,
        processed_date,
        paid_amount
    from netted_lines
    where is_orphan_credit

)

select * from final
