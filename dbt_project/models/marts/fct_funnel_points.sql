-- Every practice in the funnel plot (int_funnel_points) with where it lies: z_plain =
-- (BI_p − 100)/SE_p against chance alone and z_adjusted = (BI_p − 100)/sqrt(SE_p² + tau2)
-- against the limits adjusted for overdispersion; a report compares them with the inner
-- and outer z of fct_funnel_parameters.
with

points as (

    select
        period,
        discipline,
        practice_agb,
        expected_sessions,
        behandelindex,
        standard_error,
        z_plain
    from {{ ref('int_funnel_points') }}
    where period = '{{ spiegel_period() }}'

),

dispersion as (

    select
        period,
        discipline,
        tau2
    from {{ ref('fct_funnel_parameters') }}
    where period = '{{ spiegel_period() }}'

),

final as (

    select
        period,
        discipline,
        points.practice_agb,
        points.expected_sessions,
        points.behandelindex,
        points.standard_error,
        points.z_plain,
        (points.behandelindex - 100) / sqrt(points.standard_error * points.standard_error + dispersion.tau2)
            as z_adjusted
    from points
    inner join dispersion using (period, discipline)

)

select * from final
