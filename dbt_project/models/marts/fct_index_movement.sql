-- method.md §10: why a practice's index moved since the previous period A (macro
-- spiegel_previous_period), one row per practice and discipline with status 'ok' in
-- both, split into its own sessions per episode, its patients' mix valued at A's
-- reference, and the movement of the national reference:
--   own       = ln(O_B / n_B) − ln(O_A / n_A)
--   case_mix  = −(ln(E*_B / n_B) − ln(E_A / n_A))
--   reference = −ln(E_B / E*_B)
-- which add up to ln(BI_B / BI_A); in index points each is multiplied by
-- (BI_B − BI_A) / ln(BI_B / BI_A), or by BI_A when the two are equal, so the points add
-- up to BI_B − BI_A. No row when A is cancelled (cancelled_periods seed, §11) or the
-- practice had no index in A. Whether A was published is the release's to decide
-- (orchestration/release/publish.py keeps the rows of a published A only).
with

current_index as (

    select
        period,
        discipline,
        practice_agb,
        episodes,
        sessions,
        expected_sessions,
        behandelindex
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'
        and status = 'ok'

),

previous_index as (

    select
        period,
        discipline,
        practice_agb,
        episodes,
        sessions,
        expected_sessions,
        behandelindex
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_previous_period() }}'
        and status = 'ok'

),

cancelled_periods as (

    select period
    from {{ ref('cancelled_periods') }}

),

movement_expectations as (

    select
        period,
        discipline,
        practice_agb,
        expected_sessions_at_previous
    from {{ ref('int_movement_expectations') }}
    where period = '{{ spiegel_period() }}'

),

components as (

    select
        current_index.period,
        current_index.discipline,
        current_index.practice_agb,
        previous_index.period as from_period,
        previous_index.behandelindex as bi_from,
        current_index.behandelindex as bi_to,
        ln(current_index.sessions / current_index.episodes)
        - ln(previous_index.sessions / previous_index.episodes) as own_log,
        -- −(x − y) written as y − x and −x as 0 − x: the same numbers, without a "-0.0"
        -- in the published file when a component is nil
        ln(previous_index.expected_sessions / previous_index.episodes)
        - ln(movement_expectations.expected_sessions_at_previous / current_index.episodes) as case_mix_log,
        0 - ln(current_index.expected_sessions / movement_expectations.expected_sessions_at_previous) as reference_log
    from current_index
    inner join previous_index
        on current_index.discipline = previous_index.discipline
        and current_index.practice_agb = previous_index.practice_agb
    inner join movement_expectations
        on current_index.period = movement_expectations.period
        and current_index.discipline = movement_expectations.discipline
        and current_index.practice_agb = movement_expectations.practice_agb
    where previous_index.period not in (select cancelled_periods.period from cancelled_periods)

),

scaled as (

    select
        period,
        discipline,
        practice_agb,
        from_period,
        bi_from,
        bi_to,
        own_log,
        case_mix_log,
        reference_log,
        case
            when bi_to = bi_from then bi_from
            else (bi_to - bi_from) / ln(bi_to / bi_from)
        end as points_per_log
    from components

),

final as (

    select
        period,
        discipline,
        practice_agb,
        from_period,
        bi_from,
        bi_to,
        own_log * points_per_log as own_points,
        case_mix_log * points_per_log as case_mix_points,
        reference_log * points_per_log as reference_points
    from scaled

)

select * from final
