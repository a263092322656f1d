-- Suite delivery_contents (orchestration/gates/contents.py): credit lines of the delivery in
-- force of ($period, $insurer) whose original_claim_id is not a claim_id of the same delivery.
-- Returns (credit lines, orphans, the first $sample_rows orphans).
with credits as (
    select source_line, claim_id, original_claim_id from raw.claims
    where period = $period and insurer = $insurer and paid_amount < 0
),
originals as (
    select distinct claim_id from raw.claims
    where period = $period and insurer = $insurer
      and claim_id in (select original_claim_id from credits where original_claim_id is not null)
)
select (select count(*) from credits),
       count(*),
       min_by({'source_line': source_line, 'claim_id': claim_id, 'value': original_claim_id},
              source_line, $sample_rows)
from credits
where original_claim_id is null or original_claim_id not in (select claim_id from originals)
