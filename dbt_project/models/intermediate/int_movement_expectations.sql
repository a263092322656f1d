-- method.md §10: E*_B per practice and discipline, the expected sessions of the
-- period's (B's) episodes valued at the reference of the previous period A
-- (macro spiegel_previous_period). Each episode takes the mean of the cell its L0
-- stratum had in A; a stratum A never saw takes A's L1 cell of its L1 key (body region
-- × chronic), else A's L2 cell of its chronic flag, else A's L3 cell; where A has none
-- of these (A not computed, or no such cell), the episode's own mean in B.
with

episodes as (

    select
        period,
        discipline,
        practice_agb,
        age_band,
        sex,
        body_region,
        chronic,
        expected_sessions
    from {{ ref('int_episode_expectations') }}
    where period = '{{ spiegel_period() }}'

),

previous_strata as (

    select
        discipline,
        age_band,
        sex,
        body_region,
        chronic,
        cell_id
    from {{ ref('int_stratum_cells') }}
    where period = '{{ spiegel_previous_period() }}'

),

previous_cells as (

    select
        discipline,
        cell_id,
        level,
        body_region,
        chronic,
        mean_sessions
    from {{ ref('int_reference_cells') }}
    where period = '{{ spiegel_previous_period() }}'

),

previous_stratum_means as (

    select
        previous_strata.discipline,
        previous_strata.age_band,
        previous_strata.sex,
        previous_strata.body_region,
        previous_strata.chronic,
        previous_cells.mean_sessions
    from previous_strata
    inner join previous_cells
        on previous_strata.discipline = previous_cells.discipline
        and previous_strata.cell_id = previous_cells.cell_id

),

previous_l1_means as (

    select
        discipline,
        body_region,
        chronic,
        mean_sessions
    from previous_cells
    where level = 'L1'

),

previous_l2_means as (

    select
        discipline,
        chronic,
        mean_sessions
    from previous_cells
    where level = 'L2'

),

previous_l3_means as (

    select
        discipline,
        mean_sessions
    from previous_cells
    where level = 'L3'

),

valued_episodes as (

    select
        episodes.period,
        episodes.discipline,
        episodes.practice_agb,
        coalesce(
            previous_stratum_means.mean_sessions,
            previous_l1_means.mean_sessions,
            previous_l2_means.mean_sessions,
            previous_l3_means.mean_sessions,
            episodes.expected_sessions
        ) as expected_sessions_at_previous
    from episodes
    left join previous_stratum_means
        on episodes.discipline = previous_stratum_means.discipline
        and episodes.age_band = previous_stratum_means.age_band
        and episodes.sex = previous_stratum_means.sex
        and episodes.body_region = previous_stratum_means.body_region
        and episodes.chronic = previous_stratum_means.chronic
    left join previous_l1_means
        on episodes.discipline = previous_l1_means.discipline
        and episodes.body_region = previous_l1_means.body_region
        and episodes.chronic = previous_l1_means.chronic
    left join previous_l2_means
        on episodes.discipline = previous_l2_means.discipline
        and episodes.chronic = previous_l2_means.chronic
    left join previous_l3_means
        on episodes.discipline = previous_l3_means.discipline

),

final as (

    select
        period,
        discipline,
        practice_agb,
        '{{ spiegel_previous_period() }}' as from_period,
        -- compensated: a plain sum of doubles depends on the order DuckDB's threads add them,
        -- and the published movement changed in its last digits from one run to the next
        {{ compensated_sum('expected_sessions_at_previous') }} as expected_sessions_at_previous
    from valued_episodes
    group by period, discipline, practice_agb

)

select * from final
