{{ config(materialized='view') }}
-- method.md §2.5: netting. A debit line's (paid_amount > 0) net paid amount is its own
-- paid_amount plus the paid_amount of every credit line (paid_amount < 0) of the same
-- insurer's delivery whose original_claim_id is the debit line's claim_id. A credit
-- line is an orphan when its original_claim_id is empty or not a claim_id of that
-- insurer's delivery. All credit lines of the delivery net, whatever their other
-- attributes (dates, codes). net_paid_amount is NULL for lines that are not debits.
--
-- A view, like every line-level model: at national scale (45 million lines) writing
-- the lines again costs more than reading them from raw.claims for each consumer.
-- Credits are a few percent of the lines, so the joins build their hash tables on the
-- credits and only probe with the lines: no step hashes every claim_id. The orphans
-- come from macro orphan_credit_lines, which the contents gate runs on each delivery.
-- `not materialized`: DuckDB would otherwise spool all lines of the period to disk
-- because three steps read them (38 GB written at national scale, 10 times slower).
with

claim_lines as {{ cte_not_materialized() }} (

    select
        period,
        insurer_id,
        insurer_bit,
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
        therapist_agb,
        patient_id,
        birth_date,
        sex,
        dcsph_code,
        indication_code,
        service_date,
        processed_date,
        paid_amount,
        period_start,
        period_end,
        cutoff_date,
        in_exclusion_window
    from {{ ref('int_claim_lines') }}
    where period = '{{ spiegel_period() }}'

),

credit_lines as (

    select
        insurer_id,
        source_line,
        original_claim_id,
        paid_amount
    from claim_lines
    where paid_amount < 0

),

credits_per_original as (

    select
        insurer_id,
        original_claim_id,
        sum(paid_amount) as credited_amount,
        count(*) as credit_lines
    from credit_lines
    where original_claim_id is not null
    group by insurer_id, original_claim_id

),

orphan_credit_lines as (

    -- one definition for the gates and the method: macros/delivery_facts.sql
    {{ orphan_credit_lines('claim_lines') }}

),

final as (

    select
        claim_lines.period,
        claim_lines.insurer_id,
        claim_lines.insurer_bit,
        claim_lines.delivery_id,
        claim_lines.source_line,
        claim_lines.claim_id,
        claim_lines.original_claim_id,
        claim_lines.discipline,
        claim_lines.code_list,
        claim_lines.prestatie_code,
        claim_lines.prestatie_category,
        claim_lines.coverage,
        claim_lines.practice_agb,
        claim_lines.therapist_agb,
        claim_lines.patient_id,
        claim_lines.birth_date,
        claim_lines.sex,
        claim_lines.dcsph_code,
        claim_lines.indication_code,
        claim_lines.service_date,
        claim_lines.processed_date,
        claim_lines.paid_amount,
        case
            when claim_lines.paid_amount > 0 then coalesce(credits_per_original.credit_lines, 0)
        end as credit_lines,
        case
            when claim_lines.paid_amount > 0
                then claim_lines.paid_amount + coalesce(credits_per_original.credited_amount, 0)
        end as net_paid_amount,
        orphan_credit_lines.source_line is not null as is_orphan_credit,
        claim_lines.period_start,
        claim_lines.period_end,
        claim_lines.cutoff_date,
        claim_lines.in_exclusion_window
    from claim_lines
    left join credits_per_original
        on claim_lines.insurer_id = credits_per_original.insurer_id
        and claim_lines.claim_id = credits_per_original.original_claim_id
    left join orphan_credit_lines
        on claim_lines.insurer_id = orphan_credit_lines.insurer_id
        and claim_lines.source_line = orphan_credit_lines.source_line

)

select * from final
