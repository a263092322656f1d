-- Claim lines of the deliveries in force and accepted, typed and renamed; the only
-- place where raw columns are cast. A view over all periods: consumers filter on the
-- period, which DuckDB pushes down into the scan of raw.claims.
with

source as (

    select
        period,
        insurer,
        delivery_id,
        source_line,
        claim_id,
        original_claim_id,
        uzovi,
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
        claimed_amount,
        paid_amount,
        processed_date
    from {{ source('raw', 'claims') }}

),

final as (

    select
        cast(period as string) as period,
        cast(insurer as string) as insurer_id,
        cast(delivery_id as string) as delivery_id,
        cast(source_line as bigint) as source_line,
        cast(claim_id as string) as claim_id,
        cast(nullif(original_claim_id, '') as string) as original_claim_id,
        cast(uzovi as string) as uzovi,
        cast(practice_agb as string) as practice_agb,
        cast(therapist_agb as string) as therapist_agb,
        cast(patient_id as string) as patient_id,
        cast(birth_date as date) as birth_date,
        cast(sex as string) as sex,
        cast(service_date as date) as service_date,
        cast(code_list as string) as code_list,
        cast(prestatie_code as string) as prestatie_code,
        cast(nullif(dcsph_code, '') as string) as dcsph_code,
        cast(indication_code as string) as indication_code,
        cast(coverage as string) as coverage,
        cast(claimed_amount as decimal(18, 2)) as claimed_amount,
        cast(paid_amount as decimal(18, 2)) as paid_amount,
        cast(processed_date as date) as processed_date
    from source

)

select * from final
