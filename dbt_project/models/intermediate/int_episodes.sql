-- method.md §3: treatment episodes. One row per (discipline, practice_agb, patient_id,
-- dcsph_code) over the counted sessions of all insurers (patient_id is the same
-- pseudonym whichever insurer delivered it), with O_t and the case mix:
--   age band   completed years on the first counted session's date, from birth_date
--              (a 29 February birthday completes a year on 1 March in common years);
--              bands from the age_bands seed: always one, since a line born after its
--              treatment is never a counted session (macros/claim_line_exclusion_reason.sql);
--   sex        '1' male, '2' female, 'U' for anything else (0, 9, missing);
--   region     first two digits of dcsph_code when it is exactly four digits, else 'XX';
--   chronic    any counted session with indication_code 001 or 008.
-- birth_date and sex are taken from the episode's first counted session, ties broken
-- by insurer_id then claim_id (deterministic when insurers disagree).
with

sessions as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        insurer_id,
        insurer_bit,
        claim_id,
        birth_date,
        sex,
        indication_code,
        service_date
    from {{ ref('int_counted_sessions') }}
    where period = '{{ spiegel_period() }}'

),

age_bands as (

    select
        age_band,
        min_age,
        max_age
    from {{ ref('age_bands') }}

),

episodes as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        count(*) as observed_sessions,
        min(service_date) as first_session_date,
        max(service_date) as last_session_date,
        -- distinct insurers: bit_or of one bit per insurer (int_period_deliveries)
        {{ count_bits_or('insurer_bit') }} as insurers,
        -- the first counted session by (service_date, insurer_id, claim_id), with its
        -- birth_date and sex: one min over a struct costs half of two arg_min
        min({{ struct_of(['service_date', 'insurer_id', 'claim_id', 'birth_date', 'sex']) }}) as first_session,
        coalesce(bool_or(indication_code in ('001', '008')), false) as chronic
    from sessions
    group by period, discipline, practice_agb, patient_id, dcsph_code

),

first_sessions as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        observed_sessions,
        first_session_date,
        last_session_date,
        insurers,
        -- first_session is a struct column: `.birth_date` is a field, not a table qualifier
        first_session.birth_date as birth_date,  -- noqa: RF03, AL09
        first_session.sex as sex_as_delivered,  -- noqa: RF03
        chronic
    from episodes

),

ages as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        observed_sessions,
        first_session_date,
        last_session_date,
        insurers,
        birth_date,
        year(first_session_date) - year(birth_date) - case
            when month(first_session_date) * 100 + day(first_session_date)
                < month(birth_date) * 100 + day(birth_date) then 1
            else 0
        end as age_years,
        sex_as_delivered,
        chronic
    from first_sessions

),

final as (

    select
        ages.period,
        ages.discipline,
        ages.practice_agb,
        ages.patient_id,
        ages.dcsph_code,
        ages.observed_sessions,
        ages.first_session_date,
        ages.last_session_date,
        ages.insurers,
        ages.birth_date,
        ages.age_years,
        age_bands.age_band,
        case ages.sex_as_delivered
            when '1' then '1'
            when '2' then '2'
            else 'U'
        end as sex,
        case
            when {{ regexp_full_match("coalesce(ages.dcsph_code, '')", '[0-9]{4}') }} then left(ages.dcsph_code, 2)
            else 'XX'
        end as body_region,
        ages.chronic
    from ages
    left join age_bands
        on ages.age_years >= age_bands.min_age
        and (age_bands.max_age is null or ages.age_years <= age_bands.max_age)

)

select * from final
