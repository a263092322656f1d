-- The funnel's control limits around the national level 100, one row per (period,
-- discipline, point of the grid): 90 expected-sessions values E spaced evenly on a log
-- scale over the grid range of fct_funnel_parameters, and at each the limits
-- 100 ± z · SE(E) (plain: chance alone) and 100 ± z · sqrt(SE(E)² + tau2) (adjusted for
-- overdispersion), SE(E) = k/sqrt(E), lower limits floored at 0, for the inner z
-- (confidence_level, as the index interval) and the outer z (funnel_outer_level).
with

parameters as (

    select
        period,
        discipline,
        k,
        tau2,
        inner_z,
        outer_z,
        grid_start,
        grid_end
    from {{ ref('fct_funnel_parameters') }}
    where period = '{{ spiegel_period() }}'

),

points as (

    -- the 90 points of the grid, 0 .. 89
    {{ integers_below(90, 'point') }}

),

grid as (

    select
        parameters.period,
        parameters.discipline,
        points.point,
        exp(
            ln(parameters.grid_start)
            + points.point * ((ln(parameters.grid_end) - ln(parameters.grid_start)) / 89)
        ) as expected_sessions,
        parameters.k / sqrt(exp(
            ln(parameters.grid_start)
            + points.point * ((ln(parameters.grid_end) - ln(parameters.grid_start)) / 89)
        )) as standard_error,
        parameters.tau2,
        parameters.inner_z,
        parameters.outer_z
    from parameters
    cross join points

),

final as (

    select
        period,
        discipline,
        cast(point as integer) as point,
        expected_sessions,
        standard_error,
        greatest(cast(0 as double), 100 - inner_z * standard_error) as inner_lower,
        100 + inner_z * standard_error as inner_upper,
        greatest(cast(0 as double), 100 - inner_z * sqrt(standard_error * standard_error + tau2))
            as inner_adjusted_lower,
        100 + inner_z * sqrt(standard_error * standard_error + tau2) as inner_adjusted_upper,
        greatest(cast(0 as double), 100 - outer_z * standard_error) as outer_lower,
        100 + outer_z * standard_error as outer_upper,
        greatest(cast(0 as double), 100 - outer_z * sqrt(standard_error * standard_error + tau2))
            as outer_adjusted_lower,
        100 + outer_z * sqrt(standard_error * standard_error + tau2) as outer_adjusted_upper
    from grid

)

select * from final
