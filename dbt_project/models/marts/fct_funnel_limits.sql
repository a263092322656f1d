-- The funnel's control limits around the national level 100, one row per (period,
-- discipline, point of the grid): 90 expected-sessions values E spaced evenly on a log
-- scale from max(0.8 · the smallest practice's E, 1) to 1.25 · the largest's, and at
-- each the limits 100 ± z · SE(E) (plain: chance alone) and 100 ± z · sqrt(SE(E)² + tau2)
-- (adjusted for overdispersion), SE(E) = k/sqrt(E), lower limits floored at 0, for the
-- inner z (confidence_level, as the index interval) and the outer z (funnel_outer_level).
with

parameters as (

    select
        period,
        discipline,
        k,
        tau2,
        inner_z,
        outer_z,
        greatest(smallest_expected_sessions * cast(0.8 as double), cast(1 as double)) as grid_start,
        largest_expected_sessions * cast(1.25 as double) as grid_end_wanted
    from {{ ref('fct_funnel_parameters') }}
    where period = '{{ spiegel_period() }}'

),

bounds as (

    select
        period,
        discipline,
        k,
        tau2,
        inner_z,
        outer_z,
        grid_start,
        case when grid_end_wanted <= grid_start then grid_start * 2 else grid_end_wanted end as grid_end
    from parameters

),

grid as (

    select
        bounds.period,
        bounds.discipline,
        bounds.k,
        bounds.tau2,
        bounds.inner_z,
        bounds.outer_z,
        point.point,
        exp(ln(bounds.grid_start) + point.point * ((ln(bounds.grid_end) - ln(bounds.grid_start)) / 89))
            as expected_sessions
    from bounds
    cross join (select unnest(range(90)) as point) as point

),

standard_errors as (

    select
        period,
        discipline,
        point,
        expected_sessions,
        tau2,
        inner_z,
        outer_z,
        k / sqrt(expected_sessions) as standard_error
    from grid

),

half_widths as (

    select
        period,
        discipline,
        point,
        expected_sessions,
        standard_error,
        inner_z * standard_error as inner_half_width,
        inner_z * sqrt(standard_error * standard_error + tau2) as inner_adjusted_half_width,
        outer_z * standard_error as outer_half_width,
        outer_z * sqrt(standard_error * standard_error + tau2) as outer_adjusted_half_width
    from standard_errors

),

final as (

    select
        period,
        discipline,
        cast(point as integer) as point,
        expected_sessions,
        standard_error,
        greatest(cast(0 as double), 100 - inner_half_width) as inner_lower,
        100 + inner_half_width as inner_upper,
        greatest(cast(0 as double), 100 - inner_adjusted_half_width) as inner_adjusted_lower,
        100 + inner_adjusted_half_width as inner_adjusted_upper,
        greatest(cast(0 as double), 100 - outer_half_width) as outer_lower,
        100 + outer_half_width as outer_upper,
        greatest(cast(0 as double), 100 - outer_adjusted_half_width) as outer_adjusted_lower,
        100 + outer_adjusted_half_width as outer_adjusted_upper
    from half_widths

)

select * from final
