{{ config(severity='warn') }}
-- method.md §2.5: orphan credits (original claim not in the insurer's delivery) are a
-- data-quality warning, never an error: they are otherwise ignored. Counted from the
-- excluded-lines mart (reason orphan_credit: the lines of int_orphan_credits), so
-- the warning needs no second pass over the period's lines.
select
    period,
    insurer_id,
    lines as orphan_credits,
    paid_amount
from {{ ref('fct_excluded_lines') }}
where period = '{{ spiegel_period() }}'
    and reason = 'orphan_credit'
