-- method.md §3, §6: per practice (discipline, period): distinct patients, episodes and
-- counted sessions (from the episodes, which hold every counted session once) and
-- distinct therapists (therapist_agb) over the counted sessions (from the verdict
-- summary, whose rows with reason null are the counted sessions: no second pass over
-- the lines).
with

counted_sessions as (

    select
        period,
        discipline,
        practice_agb,
        therapist_agb
    from {{ ref('int_line_verdict_summary') }}
    where period = '{{ spiegel_period() }}'
        and reason is null

),

episodes as (

    select
        period,
        discipline,
        practice_agb,
        count(distinct patient_id) as patients,
        count(*) as episodes,
        sum(observed_sessions) as sessions
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'
    group by period, discipline, practice_agb

),

therapists as (

    select
        period,
        discipline,
        practice_agb,
        count(distinct therapist_agb) as therapists
    from counted_sessions
    group by period, discipline, practice_agb

),

final as (

    select
        episodes.period,
        episodes.discipline,
        episodes.practice_agb,
        episodes.patients,
        episodes.episodes,
        cast(episodes.sessions as bigint) as sessions,
        therapists.therapists
    from episodes
    inner join therapists
        on episodes.period = therapists.period
        and episodes.discipline = therapists.discipline
        and episodes.practice_agb = therapists.practice_agb

)

select * from final
