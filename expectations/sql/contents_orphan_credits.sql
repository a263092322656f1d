-- Suite delivery_contents (orchestration/gates/delivery_contents.py): credit lines of the delivery in
-- force of ($period, $insurer) whose original_claim_id is not a claim_id of the same delivery,
-- by the method's own definition (macro orphan_credit_lines, dbt_project/macros/delivery_facts.sql).
-- Returns (credit lines, orphans, the first $sample_rows orphans).
with lines as (
    select insurer as insurer_id, source_line, claim_id,
           nullif(original_claim_id, '') as original_claim_id, paid_amount
    from raw.claims
    where period = $period and insurer = $insurer
),
orphans as (
    {{ orphan_credit_lines('lines') }}
)
select (select count(*) from lines where paid_amount < 0),
       count(*),
       min_by({'source_line': source_line, 'claim_id': claim_id, 'value': original_claim_id},
              source_line, $sample_rows)
from orphans
