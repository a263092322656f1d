-- method.md §4: every episode belongs to exactly one reference cell. Per period and
-- discipline the episodes of the L0 strata, of the cells and with an expectation all
-- equal the number of episodes; and every L0–L2 cell reaches min_stratum_episodes.
with

episodes as (
    select
        discipline,
        count(*) as n
    from {{ ref('int_episodes') }}
    where period = '{{ spiegel_period() }}'
    group by discipline
),

strata as (
    select
        discipline,
        sum(stratum_episodes) as n
    from {{ ref('int_stratum_cells') }}
    where period = '{{ spiegel_period() }}'
    group by discipline
),

cells as (
    select
        discipline,
        sum(episodes) as n
    from {{ ref('int_reference_cells') }}
    where period = '{{ spiegel_period() }}'
    group by discipline
),

expectations as (
    select
        discipline,
        count(*) as n
    from {{ ref('int_episode_expectations') }}
    where period = '{{ spiegel_period() }}'
    group by discipline
),

small_cells as (
    select
        discipline,
        count(*) as n
    from {{ ref('int_reference_cells') }}
    where period = '{{ spiegel_period() }}'
        and level <> 'L3'
        and episodes < {{ var('min_stratum_episodes') | int }}
    group by discipline
),

l3_cells as (
    select
        discipline,
        count(*) as n
    from {{ ref('int_reference_cells') }}
    where period = '{{ spiegel_period() }}' and level = 'L3'
    group by discipline
),

final as (
    select
        episodes.discipline,
        episodes.n as episodes,
        strata.n as strata_episodes,
        cells.n as cell_episodes,
        expectations.n as expectation_rows,
        coalesce(small_cells.n, 0) as too_small_cells,
        coalesce(l3_cells.n, 0) as l3_cells
    from episodes
    left join strata on episodes.discipline = strata.discipline
    left join cells on episodes.discipline = cells.discipline
    left join expectations on episodes.discipline = expectations.discipline
    left join small_cells on episodes.discipline = small_cells.discipline
    left join l3_cells on episodes.discipline = l3_cells.discipline
)

select * from final
where strata_episodes is distinct from episodes
    or cell_episodes is distinct from episodes
    or expectation_rows is distinct from episodes
    or too_small_cells > 0
    or l3_cells > 1
