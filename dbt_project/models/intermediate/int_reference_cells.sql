-- method.md §4: the national reference cells of the period, one row per cell, over
-- the cell's own episodes: episodes, mean_c = average O_t, var_c = sample variance
-- (n - 1) of O_t, 0 when the cell has one episode (exact integer sums, see final).
with

episodes as (

    select
        period,
        discipline,
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
        cell_id,
        level,
        cell_age_band,
        cell_sex,
        cell_body_region,
        cell_chronic
    from {{ ref('int_stratum_cells') }}
    where period = '{{ spiegel_period() }}'

),

cell_sums as (

    select
        stratum_cells.period,
        stratum_cells.discipline,
        stratum_cells.cell_id,
        stratum_cells.level,
        stratum_cells.cell_age_band as age_band,
        stratum_cells.cell_sex as sex,
        stratum_cells.cell_body_region as body_region,
        stratum_cells.cell_chronic as chronic,
        count(*) as episodes,
        sum(episodes.observed_sessions) as sum_sessions,
        sum(episodes.observed_sessions * episodes.observed_sessions) as sum_squared_sessions
    from episodes
    inner join stratum_cells
        on episodes.period = stratum_cells.period
        and episodes.discipline = stratum_cells.discipline
        and episodes.age_band = stratum_cells.age_band
        and episodes.sex = stratum_cells.sex
        and episodes.body_region = stratum_cells.body_region
        and episodes.chronic = stratum_cells.chronic
    group by
        stratum_cells.period,
        stratum_cells.discipline,
        stratum_cells.cell_id,
        stratum_cells.level,
        stratum_cells.cell_age_band,
        stratum_cells.cell_sex,
        stratum_cells.cell_body_region,
        stratum_cells.cell_chronic

),

-- O_t are integers, so mean and sample variance are computed from exact integer sums
-- (var = (n·ΣO² − (ΣO)²) / (n·(n − 1))): the result does not depend on the order in
-- which DuckDB's threads see the episodes.
final as (

    select
        period,
        discipline,
        cell_id,
        level,
        age_band,
        sex,
        body_region,
        chronic,
        episodes,
        cast(sum_sessions as bigint) as observed_sessions,
        sum_sessions / episodes as mean_sessions,
        case
            when episodes > 1
                then (episodes * sum_squared_sessions - sum_sessions * sum_sessions)
                    / (episodes * (episodes - 1))
            else 0
        end as variance_sessions
    from cell_sums

)

select * from final
