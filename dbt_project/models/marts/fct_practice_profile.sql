-- method.md §3, §6: per practice (discipline, period): distinct patients, episodes,
-- counted sessions and distinct therapists (therapist_agb) over the counted sessions.
with

counted_sessions as (

    select
        period,
        discipline,
        practice_agb,
        patient_id,
        dcsph_code,
        therapist_agb
    from {{ ref('int_counted_sessions') }}
    where period = '{{ spiegel_period() }}'

),

episodes as (

    select
        period,
        discipline,
        practice_agb,
        count(*) as episodes
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'
    group by period, discipline, practice_agb

),

sessions as (

    select
        period,
        discipline,
        practice_agb,
        count(distinct patient_id) as patients,
        count(*) as sessions,
        count(distinct therapist_agb) as therapists
    from counted_sessions
    group by period, discipline, practice_agb

),

final as (

    select
        sessions.period,
        sessions.discipline,
        sessions.practice_agb,
        sessions.patients,
        episodes.episodes,
        sessions.sessions,
        sessions.therapists
    from sessions
    inner join episodes
        on sessions.period = episodes.period
        and sessions.discipline = episodes.discipline
        and sessions.practice_agb = episodes.practice_agb

)

select * from final
