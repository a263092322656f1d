-- The "median practice" column of the reports' key figures, one row per (period,
-- discipline) with at least one practice with a published index (status 'ok' in
-- fct_behandelindex): the medians over those practices of their patients, episodes,
-- counted sessions, sessions per episode, behandelindex and distinct therapists
-- (fct_practice_profile; none counts as 0). The median of an even number of values is
-- the mean of the middle two.
with

practices_with_index as (

    select
        period,
        discipline,
        practice_agb,
        behandelindex,
        patients,
        episodes,
        sessions
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'
        and status = 'ok'

),

profiles as (

    select
        period,
        discipline,
        practice_agb,
        coalesce(therapists, 0) as therapists
    from {{ ref('fct_practice_profile') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        period,
        discipline,
        count(*) as practices_with_index,
        cast(median(practices_with_index.patients) as double) as median_patients,
        cast(median(practices_with_index.episodes) as double) as median_episodes,
        cast(median(practices_with_index.sessions) as double) as median_sessions,
        median(
            practices_with_index.sessions / practices_with_index.episodes
        ) filter (where practices_with_index.episodes > 0) as median_sessions_per_episode,
        median(practices_with_index.behandelindex) as median_behandelindex,
        cast(median(profiles.therapists) as double) as median_therapists
    from practices_with_index
    left join profiles using (period, discipline, practice_agb)
    group by period, discipline

)

select * from final
