-- method.md §4 (pooling): every L0 stratum (age band × sex × body region × chronic,
-- per discipline) of the period with its national episode count and the reference
-- cell it belongs to:
--   1. an L0 stratum with >= min_stratum_episodes episodes is a cell of its own;
--   2. the remaining L0 strata pool by L1 key (body region × chronic); a pool with
--      >= min_stratum_episodes episodes is a cell;
--   3. the strata still left pool by L2 key (chronic); idem;
--   4. the rest forms one L3 cell per discipline, whatever its size.
-- A pool only holds strata not placed at a finer level, so each L0 stratum (and so
-- each episode) is in exactly one cell.
-- cell_id is readable and deterministic within (period, discipline):
--   L0/<age_band>/<sex>/<region>/<chronic|non_chronic>, L1/<region>/<chronic|non_chronic>,
--   L2/<chronic|non_chronic>, L3.
{%- set min_episodes = var('min_stratum_episodes') | int %}
with

episodes as (

    select
        period,
        discipline,
        age_band,
        sex,
        body_region,
        chronic
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'

),

strata as (

    select
        period,
        discipline,
        age_band,
        sex,
        body_region,
        chronic,
        count(*) as stratum_episodes
    from episodes
    group by period, discipline, age_band, sex, body_region, chronic

),

l1_pools as (

    select
        period,
        discipline,
        body_region,
        chronic,
        sum(stratum_episodes) as pool_episodes
    from strata
    where stratum_episodes < {{ min_episodes }}
    group by period, discipline, body_region, chronic

),

l2_pools as (

    select
        strata.period,
        strata.discipline,
        strata.chronic,
        sum(strata.stratum_episodes) as pool_episodes
    from strata
    inner join l1_pools
        on strata.period = l1_pools.period
        and strata.discipline = l1_pools.discipline
        and strata.body_region = l1_pools.body_region
        and strata.chronic = l1_pools.chronic
    where strata.stratum_episodes < {{ min_episodes }}
        and l1_pools.pool_episodes < {{ min_episodes }}
    group by strata.period, strata.discipline, strata.chronic

),

levels as (

    select
        strata.period,
        strata.discipline,
        strata.age_band,
        strata.sex,
        strata.body_region,
        strata.chronic,
        strata.stratum_episodes,
        case
            when strata.stratum_episodes >= {{ min_episodes }} then 'L0'
            when l1_pools.pool_episodes >= {{ min_episodes }} then 'L1'
            when l2_pools.pool_episodes >= {{ min_episodes }} then 'L2'
            else 'L3'
        end as level
    from strata
    left join l1_pools
        on strata.period = l1_pools.period
        and strata.discipline = l1_pools.discipline
        and strata.body_region = l1_pools.body_region
        and strata.chronic = l1_pools.chronic
    left join l2_pools
        on strata.period = l2_pools.period
        and strata.discipline = l2_pools.discipline
        and strata.chronic = l2_pools.chronic

),

cell_keys as (

    select
        period,
        discipline,
        age_band,
        sex,
        body_region,
        chronic,
        stratum_episodes,
        level,
        case when level = 'L0' then age_band end as cell_age_band,
        case when level = 'L0' then sex end as cell_sex,
        case when level in ('L0', 'L1') then body_region end as cell_body_region,
        case when level in ('L0', 'L1', 'L2') then chronic end as cell_chronic
    from levels

),

final as (

    select
        period,
        discipline,
        age_band,
        sex,
        body_region,
        chronic,
        stratum_episodes,
        concat_ws(
            '/',
            level,
            cell_age_band,
            cell_sex,
            cell_body_region,
            case when cell_chronic then 'chronic' when not cell_chronic then 'non_chronic' end
        ) as cell_id,
        level,
        cell_age_band,
        cell_sex,
        cell_body_region,
        cell_chronic
    from cell_keys

)

select * from final
