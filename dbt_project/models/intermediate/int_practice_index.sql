-- method.md §5–§6: per practice (discipline, period), over its episodes:
--   O_p = Σ O_t, E_p = Σ E_t, Σ V_t, BI_p = 100·O_p/E_p, SE_p = 100·sqrt(Σ V_t)/E_p,
--   interval BI_p ± z·SE_p with the lower bound floored at 0, z from confidence_level,
--   and patients_p = distinct patient_id. Sums of doubles are compensated (fsum). Computed for every
--   practice, suppression is applied in fct_behandelindex.
with

episodes as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        observed_sessions,
        expected_sessions,
        expected_variance
    from {{ ref('int_episode_expectations') }}
    where period = '{{ spiegel_period() }}'

),

practices as (

    select
        period,
        discipline,
        practice_agb,
        count(distinct patient_id) as patients,
        count(*) as episodes,
        cast(sum(observed_sessions) as bigint) as sessions,
        {{ compensated_sum("expected_sessions") }} as expected_sessions,
        {{ compensated_sum("expected_variance") }} as sum_variance
    from episodes
    group by period, discipline, practice_agb

),

indexed as (

    select
        period,
        discipline,
        practice_agb,
        patients,
        episodes,
        sessions,
        expected_sessions,
        sum_variance,
        100 * sessions / expected_sessions as behandelindex,
        100 * sqrt(sum_variance) / expected_sessions as standard_error,
        {{ confidence_z() }} as z
    from practices

),

final as (

    select
        period,
        discipline,
        practice_agb,
        patients,
        episodes,
        sessions,
        expected_sessions,
        sum_variance,
        behandelindex,
        standard_error,
        z,
        greatest(behandelindex - z * standard_error, 0) as ci_lower,
        behandelindex + z * standard_error as ci_upper
    from indexed

)

select * from final
