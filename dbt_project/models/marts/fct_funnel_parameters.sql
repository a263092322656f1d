-- The funnel plot of a discipline (Spiegelhalter 2005, "Funnel plots for comparing
-- institutional performance", Stat Med 24:1185–1202), one row per (period, discipline)
-- with at least one funnel point:
--   k      = median of SE_p·sqrt(E_p): the limits' standard error is SE(E) = k/sqrt(E);
--   z_p    = (BI_p − 100)/SE_p, winsorised at its 10th and 90th percentiles;
--   phi    = mean of the winsorised z_p² (the overdispersion factor);
--   tau2   = max(0, (n·phi − (n − 1)) / (Σw − Σw²/Σw)), w_p = 1/SE_p² (additive
--            between-practice variance; 0 when n = 1);
--   the z of the inner limits (var confidence_level, the index interval's z) and of the
--   outer ones (var funnel_outer_level); the range of the limits' grid (0.8 × the
--   smallest E_p, at least 1, to 1.25 × the largest) and the adjusted outer limits at the
--   smallest practice (the chart's y range starts there).
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
        {{ sorted_list('scaled_standard_error') }} as scaled_sorted,
        {{ sorted_list('z_plain') }} as z_sorted
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

weighted as (

    select
        period,
        discipline,
        quantiles.practices,
        least(greatest(points.z_plain, quantiles.winsor_lower), quantiles.winsor_upper) as z_winsorised,
        1 / (points.standard_error * points.standard_error) as weight
    from quantiles
    inner join points using (period, discipline)

),

dispersion as (

    select
        period,
        discipline,
        {{ compensated_sum('z_winsorised * z_winsorised') }} / practices as phi,
        practices * ({{ compensated_sum('z_winsorised * z_winsorised') }} / practices) - (practices - 1) as excess,
        {{ compensated_sum('weight') }} - {{ compensated_sum('weight * weight') }} / {{ compensated_sum('weight') }}
            as weight_spread
    from weighted
    group by period, discipline, practices

),

final as (

    select
        period,
        discipline,
        quantiles.practices,
        quantiles.k,
        quantiles.winsor_lower,
        quantiles.winsor_upper,
        dispersion.phi,
        case
            when quantiles.practices > 1 and dispersion.weight_spread > 0
                then greatest(cast(0 as double), dispersion.excess / dispersion.weight_spread)
            else cast(0 as double)
        end as tau2,
        cast({{ var('confidence_level') }} as double) as inner_level,
        {{ confidence_z() }} as inner_z,
        cast({{ var('funnel_outer_level') }} as double) as outer_level,
        {{ funnel_outer_z() }} as outer_z,
        quantiles.smallest_expected_sessions,
        quantiles.largest_expected_sessions,
        greatest(quantiles.smallest_expected_sessions * cast(0.8 as double), cast(1 as double)) as grid_start,
        case
            when quantiles.largest_expected_sessions * cast(1.25 as double)
                <= greatest(quantiles.smallest_expected_sessions * cast(0.8 as double), cast(1 as double))
                then 2 * greatest(quantiles.smallest_expected_sessions * cast(0.8 as double), cast(1 as double))
            else quantiles.largest_expected_sessions * cast(1.25 as double)
        end as grid_end,
        greatest(
            cast(0 as double),
            100 - outer_z * sqrt(
                (quantiles.k / sqrt(quantiles.smallest_expected_sessions))
                * (quantiles.k / sqrt(quantiles.smallest_expected_sessions))
                + tau2
            )
        ) as outer_adjusted_lower_at_smallest,
        100 + outer_z * sqrt(
            (quantiles.k / sqrt(quantiles.smallest_expected_sessions))
            * (quantiles.k / sqrt(quantiles.smallest_expected_sessions))
            + tau2
        ) as outer_adjusted_upper_at_smallest
    from quantiles
    inner join dispersion using (period, discipline)

)

select * from final
