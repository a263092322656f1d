-- method.md §5: every cell's expected sessions sum to its observed sessions, so per
-- period and discipline Σ_p O_p = Σ_p E_p over all practices (insufficient ones
-- included): the national index is 100. Tolerance 1e-6 (relative 1e-12 for huge sums).
select
    period,
    discipline,
    sum(sessions) as observed,
    {{ compensated_sum("expected_sessions") }} as expected
from {{ ref('fct_behandelindex') }}
where period = '{{ spiegel_period() }}'
group by period, discipline
having abs(sum(sessions) - {{ compensated_sum("expected_sessions") }}) > greatest(1e-6, 1e-12 * sum(sessions))
