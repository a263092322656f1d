{{ config(materialized='view') }}
-- depends_on: {{ ref('exclusion_windows') }}
-- method.md §2: every claim line of the period's accepted deliveries in force, with
-- its discipline (§2.1, from code_list) and prestatie category (§2.2, from the
-- prestatie_codes seed; NULL for an unknown code), the period bounds and the cutoff,
-- and whether its service_date lies in an exclusion window of the period (§9).
-- No line is dropped here: the verdict per line is int_counted_sessions /
-- int_excluded_lines.
with

claims as (

    select
        period,
        insurer_id,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        practice_agb,
        therapist_agb,
        patient_id,
        birth_date,
        sex,
        service_date,
        code_list,
        prestatie_code,
        dcsph_code,
        indication_code,
        coverage,
        paid_amount,
        processed_date
    from {{ ref('stg_raw__claims') }}
    where period = '{{ spiegel_period() }}'

),

deliveries as (

    select
        period,
        insurer_id,
        delivery_id,
        period_start,
        period_end,
        cutoff_date,
        insurer_bit
    from {{ ref('int_period_deliveries') }}
    where period = '{{ spiegel_period() }}'

),

prestatie_codes as (

    select
        code_list,
        prestatie_code,
        category
    from {{ ref('prestatie_codes') }}

),

final as (

    select
        claims.period,
        claims.insurer_id,
        deliveries.insurer_bit,
        claims.delivery_id,
        claims.source_line,
        claims.claim_id,
        claims.original_claim_id,
        case claims.code_list
            when '073' then 'fysiotherapie'
            when '074' then 'oefentherapie'
        end as discipline,
        claims.code_list,
        claims.prestatie_code,
        prestatie_codes.category as prestatie_category,
        claims.coverage,
        claims.practice_agb,
        claims.therapist_agb,
        claims.patient_id,
        claims.birth_date,
        claims.sex,
        claims.dcsph_code,
        claims.indication_code,
        claims.service_date,
        claims.processed_date,
        claims.paid_amount,
        deliveries.period_start,
        deliveries.period_end,
        deliveries.cutoff_date,
        coalesce({{ exclusion_window_predicate('claims.service_date') }}, false) as in_exclusion_window
    from claims
    inner join deliveries
        on claims.period = deliveries.period
        and claims.insurer_id = deliveries.insurer_id
        and claims.delivery_id = deliveries.delivery_id
    left join prestatie_codes
        on claims.code_list = prestatie_codes.code_list
        and claims.prestatie_code = prestatie_codes.prestatie_code

)

select * from final
