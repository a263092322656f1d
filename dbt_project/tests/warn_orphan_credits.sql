{{ config(severity='warn') }}
-- method.md §2.5: orphan credits (original claim not in the insurer's delivery) are a
-- data-quality warning, never an error: they are otherwise ignored.
select
    period,
    insurer_id,
    count(*) as orphan_credits,
    sum(paid_amount) as paid_amount
from {{ ref('int_orphan_credits') }}
where period = '{{ spiegel_period() }}'
group by period, insurer_id
