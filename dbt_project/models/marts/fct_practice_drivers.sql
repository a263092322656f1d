-- method.md §5: what drives a practice's index. Per practice, body region and
-- chronic: episodes, observed sessions (Σ O_t) and expected sessions (Σ E_t).
with

episode_expectations as (

    select
        period,
        discipline,
        practice_agb,
        body_region,
        chronic,
        observed_sessions,
        expected_sessions
    from {{ ref('int_episode_expectations') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        period,
        discipline,
        practice_agb,
        body_region,
        chronic,
        count(*) as episodes,
        cast(sum(observed_sessions) as bigint) as observed_sessions,
        -- compensated sum, as in int_practice_index: a plain sum of doubles depends on
        -- the order DuckDB's threads add them, so a rerun could differ in the last digit
        {{ compensated_sum("expected_sessions") }} as expected_sessions
    from episode_expectations
    group by period, discipline, practice_agb, body_region, chronic

)

select * from final
