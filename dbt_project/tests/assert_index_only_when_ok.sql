-- method.md §6: status follows min_patients; the index columns are filled exactly when
-- status is 'ok', and corrected_index is the interval's lower bound, floored at 0.
-- The failing rows, whole (sqlfluff cannot see the columns of a ref()).
select *  -- noqa: AM04
from {{ ref('fct_behandelindex') }}
where period = '{{ spiegel_period() }}'
    and (
        (status = 'ok') <> (patients >= {{ var('min_patients') | int }})
        or (status = 'ok') <> (behandelindex is not null)
        or (status = 'ok') <> (ci_lower is not null)
        or (status = 'ok') <> (ci_upper is not null)
        or corrected_index is distinct from ci_lower
        or ci_lower < 0
        or ci_lower > behandelindex
        or ci_upper < behandelindex
    )
