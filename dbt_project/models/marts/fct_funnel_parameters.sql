-- The funnel plot of a discipline (Spiegelhalter 2005, "Funnel plots for comparing
-- institutional performance", Stat Med 24:1185–1202), one row per (period, discipline)
-- with at least one funnel point:
--   k      = median of SE_p·sqrt(E_p): the limits' standard error is SE(E) = k/sqrt(E);
--   z_p    = (BI_p − 100)/SE_p, winsorised at its 10th and 90th percentiles;
--   phi    = mean of the winsorised z_p² (the overdispersion factor);
--   tau2   = max(0, (n·phi − (n − 1)) / (Σw − Σw²/Σw)), w_p = 1/SE_p² (additive
--            between-practice variance; 0 when n = 1);
--   the z of the inner limits (var confidence_level, the index interval's z) and of the
--   outer ones (var funnel_outer_level), and the adjusted outer limits at the smallest
--   practice (the chart's y range starts there).
with

points as (

    select
        period,
        discipline,
        expected_sessions,
        standard_error,
        scaled_standard_error,
        z_plain
    from {{ ref('int_funnel_points') }}
    where period = '{{ spiegel_period() }}'

),

sorted as (

    select
        period,
        discipline,
        count(*) as practices,
        min(expected_sessions) as smallest_expected_sessions,
        max(expected_sessions) as largest_expected_sessions,
        list_sort(list(scaled_standard_error)) as scaled_sorted,
        list_sort(list(z_plain)) as z_sorted
    from points
    group by period, discipline

),

quantiles as (

    select
        period,
        discipline,
        practices,
        smallest_expected_sessions,
        largest_expected_sessions,
        {{ sorted_list_quantile('scaled_sorted', 'practices', 0.5) }} as k,
        {{ sorted_list_quantile('z_sorted', 'practices', 0.1) }} as winsor_lower,
        {{ sorted_list_quantile('z_sorted', 'practices', 0.9) }} as winsor_upper
    from sorted

),

winsorised as (

    select
        quantiles.period,
        quantiles.discipline,
        quantiles.practices,
        least(greatest(points.z_plain, quantiles.winsor_lower), quantiles.winsor_upper) as z_winsorised,
        1 / (points.standard_error * points.standard_error) as weight
    from quantiles
    inner join points
        on quantiles.period = points.period
        and quantiles.discipline = points.discipline

),

sums as (

    select
        period,
        discipline,
        fsum(z_winsorised * z_winsorised) / practices as phi,
        fsum(weight) as sum_weights,
        fsum(weight * weight) as sum_squared_weights
    from winsorised
    group by period, discipline, practices

),

estimated as (

    select
        quantiles.period,
        quantiles.discipline,
        quantiles.practices,
        quantiles.k,
        quantiles.winsor_lower,
        quantiles.winsor_upper,
        sums.phi,
        case
            when quantiles.practices > 1 and sums.sum_weights - sums.sum_squared_weights / sums.sum_weights > 0
                then greatest(
                    cast(0 as double),
                    (quantiles.practices * sums.phi - (quantiles.practices - 1))
                        / (sums.sum_weights - sums.sum_squared_weights / sums.sum_weights))
            else cast(0 as double)
        end as tau2,
        cast({{ var('confidence_level') }} as double) as inner_level,
        {{ confidence_z() }} as inner_z,
        cast({{ var('funnel_outer_level') }} as double) as outer_level,
        {{ funnel_outer_z() }} as outer_z,
        quantiles.smallest_expected_sessions,
        quantiles.largest_expected_sessions
    from quantiles
    inner join sums
        on quantiles.period = sums.period
        and quantiles.discipline = sums.discipline

),

with_smallest as (

    select
        period,
        discipline,
        practices,
        k,
        winsor_lower,
        winsor_upper,
        phi,
        tau2,
        inner_level,
        inner_z,
        outer_level,
        outer_z,
        smallest_expected_sessions,
        largest_expected_sessions,
        outer_z * sqrt(
            (k / sqrt(smallest_expected_sessions)) * (k / sqrt(smallest_expected_sessions)) + tau2
        ) as outer_half_width_at_smallest
    from estimated

),

final as (

    select
        period,
        discipline,
        practices,
        k,
        winsor_lower,
        winsor_upper,
        phi,
        tau2,
        inner_level,
        inner_z,
        outer_level,
        outer_z,
        smallest_expected_sessions,
        largest_expected_sessions,
        greatest(cast(0 as double), 100 - outer_half_width_at_smallest) as outer_adjusted_lower_at_smallest,
        100 + outer_half_width_at_smallest as outer_adjusted_upper_at_smallest
    from with_smallest

)

select * from final
