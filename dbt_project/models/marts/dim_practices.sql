-- Who the practices of the period's index are: one row per practice_agb of
-- fct_behandelindex (any discipline, any status) with its name and place from the
-- practice register in force (docs/register-contract.md); both NULL for a practice the
-- register does not know. Published as practices.csv. It reads the index, never the
-- other way round: no figure of the method depends on the register.
with

index_practices as (

    select distinct
        period,
        practice_agb
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'

),

register as (

    select
        practice_agb,
        practice_name,
        place
    from {{ ref('stg_raw__practice_register') }}

),

final as (

    select
        index_practices.period,
        index_practices.practice_agb,
        register.practice_name,
        register.place
    from index_practices
    left join register
        on index_practices.practice_agb = register.practice_agb

)

select * from final
