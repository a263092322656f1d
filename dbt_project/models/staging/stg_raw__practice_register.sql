-- The practice register in force (docs/register-contract.md), typed and renamed: one row
-- per practice of the register. Addressing only: nothing of the index reads it.
with

source as (

    select
        practice_agb,
        practice_name,
        place
    from {{ source('raw', 'practice_register') }}

),

final as (

    select
        cast(practice_agb as string) as practice_agb,
        cast(practice_name as string) as practice_name,
        cast(place as string) as place
    from source

)

select * from final
