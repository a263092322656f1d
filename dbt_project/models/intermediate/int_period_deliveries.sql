-- method.md §1, §2.4: the period's deliveries in force and accepted, one per insurer,
-- with the period's treatment dates (periods seed) and the delivery's cutoff date.
with

deliveries as (

    select
        period,
        insurer_id,
        delivery_id,
        delivery_status,
        cutoff_date
    from {{ ref('stg_raw__deliveries') }}
    where period = '{{ spiegel_period() }}'

),

periods as (

    select
        period,
        period_start,
        period_end
    from {{ ref('periods') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        deliveries.period,
        deliveries.insurer_id,
        deliveries.delivery_id,
        periods.period_start,
        periods.period_end,
        deliveries.cutoff_date,
        -- one bit per insurer of the period: int_episodes counts an episode's insurers
        -- as bit_count(bit_or(insurer_bit)), which at national scale costs a fraction
        -- of count(distinct insurer_id) (at most 64 insurers per period)
        {{ insurer_bit('row_number() over (order by deliveries.insurer_id) - 1') }}
            as insurer_bit
    from deliveries
    inner join periods
        on deliveries.period = periods.period
    where deliveries.delivery_status = 'accepted'

)

select * from final
