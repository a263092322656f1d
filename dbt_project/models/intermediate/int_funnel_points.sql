-- The points of the funnel plot: every practice of the period with a published index
-- (status 'ok' in fct_behandelindex) and a positive standard error, with its expected
-- sessions E_p, index BI_p, SE_p = 100·sqrt(Σ V_t)/E_p (method.md §5), SE_p·sqrt(E_p)
-- (the funnel's scale k is their median) and z_p = (BI_p − 100)/SE_p.
with

published as (

    select
        period,
        discipline,
        practice_agb,
        expected_sessions,
        behandelindex
    from {{ ref('fct_behandelindex') }}
    where period = '{{ spiegel_period() }}'
        and status = 'ok'

),

standard_errors as (

    select
        period,
        discipline,
        practice_agb,
        standard_error
    from {{ ref('int_practice_index') }}
    where period = '{{ spiegel_period() }}'
        and standard_error > 0

),

final as (

    select
        period,
        discipline,
        practice_agb,
        published.expected_sessions,
        published.behandelindex,
        standard_errors.standard_error,
        standard_errors.standard_error * sqrt(published.expected_sessions) as scaled_standard_error,
        (published.behandelindex - 100) / standard_errors.standard_error as z_plain
    from published
    inner join standard_errors using (period, discipline, practice_agb)
    where published.expected_sessions > 0

)

select * from final
