-- The "median practice" column of the reports' key figures, one row per (period,
-- discipline) of fct_behandelindex: medians over the practices with a published index
-- (status 'ok') of their patients, episodes, counted sessions, sessions per episode,
-- behandelindex and distinct therapists (fct_practice_profile; none counts as 0). The
-- median of an even number of values is the mean of the middle two; NULL when the
-- discipline has no practice with an index.
with

published as (

    select
        period,
        discipline,
        practice_agb,
        status,
        patients,
        episodes,
        sessions,
        behandelindex
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'

),

profiles as (

    select
        period,
        discipline,
        practice_agb,
        therapists
    from {{ ref('fct_practice_profile') }}
    where period = '{{ spiegel_period() }}'

),

indexed as (

    select
        period,
        discipline,
        practice_agb,
        patients,
        episodes,
        sessions,
        case when episodes > 0 then sessions / episodes end as sessions_per_episode,
        behandelindex
    from published
    where status = 'ok'
        and behandelindex is not null

),

therapists as (

    select
        indexed.period,
        indexed.discipline,
        median(coalesce(profiles.therapists, 0)) as median_therapists
    from indexed
    inner join profiles
        on indexed.period = profiles.period
        and indexed.discipline = profiles.discipline
        and indexed.practice_agb = profiles.practice_agb
    group by indexed.period, indexed.discipline

),

medians as (

    select
        period,
        discipline,
        count(*) as practices_with_index,
        median(patients) as median_patients,
        median(episodes) as median_episodes,
        median(sessions) as median_sessions,
        median(sessions_per_episode) as median_sessions_per_episode,
        median(behandelindex) as median_behandelindex
    from indexed
    group by period, discipline

),

disciplines as (

    select distinct
        period,
        discipline
    from published

),

final as (

    select
        disciplines.period,
        disciplines.discipline,
        coalesce(medians.practices_with_index, 0) as practices_with_index,
        cast(medians.median_patients as double) as median_patients,
        cast(medians.median_episodes as double) as median_episodes,
        cast(medians.median_sessions as double) as median_sessions,
        medians.median_sessions_per_episode,
        medians.median_behandelindex,
        cast(therapists.median_therapists as double) as median_therapists
    from disciplines
    left join medians
        on disciplines.period = medians.period
        and disciplines.discipline = medians.discipline
    left join therapists
        on disciplines.period = therapists.period
        and disciplines.discipline = therapists.discipline

)

select * from final
