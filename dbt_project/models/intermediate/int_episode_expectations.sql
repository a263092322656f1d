-- method.md §4: each episode t with its reference cell and E_t = mean_c, V_t = var_c.
with

episodes as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        age_band,
        sex,
        body_region,
        chronic,
        observed_sessions
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'

),

stratum_cells as (

    select
        period,
        discipline,
        age_band,
        sex,
        body_region,
        chronic,
        cell_id
    from {{ ref('int_stratum_cells') }}
    where period = '{{ spiegel_period() }}'

),

reference_cells as (

    select
        period,
        discipline,
        cell_id,
        level,
        mean_sessions,
        variance_sessions
    from {{ ref('int_reference_cells') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        episodes.period,
        episodes.discipline,
        episodes.practice_agb,
        episodes.patient_id,
        episodes.dcsph_code,
        episodes.age_band,
        episodes.sex,
        episodes.body_region,
        episodes.chronic,
        reference_cells.cell_id,
        reference_cells.level,
        episodes.observed_sessions,
        reference_cells.mean_sessions as expected_sessions,
        reference_cells.variance_sessions as expected_variance
    from episodes
    inner join stratum_cells
        on episodes.period = stratum_cells.period
        and episodes.discipline = stratum_cells.discipline
        and episodes.age_band = stratum_cells.age_band
        and episodes.sex = stratum_cells.sex
        and episodes.body_region = stratum_cells.body_region
        and episodes.chronic = stratum_cells.chronic
    inner join reference_cells
        on stratum_cells.period = reference_cells.period
        and stratum_cells.discipline = reference_cells.discipline
        and stratum_cells.cell_id = reference_cells.cell_id

)

select * from final
