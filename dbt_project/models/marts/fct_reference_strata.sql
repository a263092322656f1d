-- method.md §4: the published national reference. One row per reference cell
-- (row_type 'cell': its level, the key attributes that define it, NULL where pooled
-- away, its episodes, mean and variance) and one row per L0 stratum (row_type
-- 'stratum': the stratum's own full key and episode count, with the id, level, mean
-- and variance of the cell it belongs to), so a practice can find its cell.
with

reference_cells as (

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
        mean_sessions,
        variance_sessions
    from {{ ref('int_reference_cells') }}
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
        stratum_episodes,
        cell_id
    from {{ ref('int_stratum_cells') }}
    where period = '{{ spiegel_period() }}'

),

cell_rows as (

    select
        period,
        discipline,
        'cell' as row_type,
        cell_id,
        level,
        age_band,
        sex,
        body_region,
        chronic,
        episodes,
        mean_sessions,
        variance_sessions
    from reference_cells

),

stratum_rows as (

    select
        stratum_cells.period,
        stratum_cells.discipline,
        'stratum' as row_type,
        stratum_cells.cell_id,
        reference_cells.level,
        stratum_cells.age_band,
        stratum_cells.sex,
        stratum_cells.body_region,
        stratum_cells.chronic,
        stratum_cells.stratum_episodes as episodes,
        reference_cells.mean_sessions,
        reference_cells.variance_sessions
    from stratum_cells
    inner join reference_cells
        on stratum_cells.period = reference_cells.period
        and stratum_cells.discipline = reference_cells.discipline
        and stratum_cells.cell_id = reference_cells.cell_id

),

final as (

    select
        period,
        discipline,
        row_type,
        cell_id,
        level,
        age_band,
        sex,
        body_region,
        chronic,
        episodes,
        mean_sessions,
        variance_sessions
    from cell_rows

    union all

    select
        period,
        discipline,
        row_type,
        cell_id,
        level,
        age_band,
        sex,
        body_region,
        chronic,
        episodes,
        mean_sessions,
        variance_sessions
    from stratum_rows

)

select * from final
