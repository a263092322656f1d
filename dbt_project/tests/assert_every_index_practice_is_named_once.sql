-- Every practice of the period's index has exactly one row in dim_practices, whether
-- or not the practice register knows it: the practices without one, or with more.
with

index_practices as (

    select distinct practice_agb
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'

),

named as (

    select
        practice_agb,
        count(*) as rows_in_dim
    from {{ ref('dim_practices') }}
    where period = '{{ spiegel_period() }}'
    group by practice_agb

),

final as (

    select
        index_practices.practice_agb,
        coalesce(named.rows_in_dim, 0) as rows_in_dim
    from index_practices
    left join named
        on index_practices.practice_agb = named.practice_agb
    where coalesce(named.rows_in_dim, 0) <> 1

)

select * from final
