-- method.md §3: the case mix of each practice next to the national one. Per practice
-- and dimension (body_region, age_band, sex, chronic) one row for every category that
-- occurs nationally in the discipline: the practice's episodes in it (0 when none) and
-- the national episodes. chronic categories are 'true' / 'false'.
with

episodes as (

    select
        period,
        discipline,
        practice_agb,
        age_band,
        sex,
        body_region,
        chronic
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'

),

episode_categories as (

    select
        period,
        discipline,
        practice_agb,
        'body_region' as dimension,
        body_region as category
    from episodes
    union all
    select
        period,
        discipline,
        practice_agb,
        'age_band' as dimension,
        age_band as category
    from episodes
    union all
    select
        period,
        discipline,
        practice_agb,
        'sex' as dimension,
        sex as category
    from episodes
    union all
    select
        period,
        discipline,
        practice_agb,
        'chronic' as dimension,
        case when chronic then 'true' else 'false' end as category
    from episodes

),

practice_counts as (

    select
        period,
        discipline,
        practice_agb,
        dimension,
        category,
        count(*) as practice_episodes
    from episode_categories
    group by period, discipline, practice_agb, dimension, category

),

national_counts as (

    select
        period,
        discipline,
        dimension,
        category,
        count(*) as national_episodes
    from episode_categories
    group by period, discipline, dimension, category

),

practices as (

    select distinct
        period,
        discipline,
        practice_agb
    from episodes

),

final as (

    select
        practices.period,
        practices.discipline,
        practices.practice_agb,
        national_counts.dimension,
        national_counts.category,
        coalesce(practice_counts.practice_episodes, 0) as practice_episodes,
        national_counts.national_episodes
    from practices
    inner join national_counts
        on practices.period = national_counts.period
        and practices.discipline = national_counts.discipline
    left join practice_counts
        on practices.period = practice_counts.period
        and practices.discipline = practice_counts.discipline
        and practices.practice_agb = practice_counts.practice_agb
        and national_counts.dimension = practice_counts.dimension
        and national_counts.category = practice_counts.category

)

select * from final
