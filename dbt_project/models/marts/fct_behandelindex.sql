-- method.md §6–§7: the published index table, one row per (period, discipline,
-- practice_agb) with at least one counted session, in the column order of cli.md.
-- status is 'insufficient_patients' when patients < min_patients, else 'ok'; the
-- index, interval and corrected index (= the interval's lower bound) are NULL unless
-- status is 'ok'. Full precision; people see rounded numbers.
with

practice_index as (

    select
        period,
        discipline,
        practice_agb,
        patients,
        episodes,
        sessions,
        expected_sessions,
        behandelindex,
        ci_lower,
        ci_upper
    from {{ ref('int_practice_index') }}
    where period = '{{ spiegel_period() }}'

),

statuses as (

    select
        period,
        discipline,
        practice_agb,
        case
            when patients >= {{ var('min_patients') | int }} then 'ok'
            else 'insufficient_patients'
        end as status,
        patients,
        episodes,
        sessions,
        expected_sessions,
        behandelindex,
        ci_lower,
        ci_upper
    from practice_index

),

final as (

    select
        period,
        discipline,
        practice_agb,
        status,
        patients,
        episodes,
        sessions,
        expected_sessions,
        case when status = 'ok' then behandelindex end as behandelindex,
        case when status = 'ok' then ci_lower end as ci_lower,
        case when status = 'ok' then ci_upper end as ci_upper,
        case when status = 'ok' then ci_lower end as corrected_index
    from statuses

)

select * from final
