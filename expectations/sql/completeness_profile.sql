-- Suite delivery_completeness (orchestration/gates/delivery_completeness.py): the monthly profile of
-- the delivery in force of ($period, $insurer), service dates $start..$end, one scan; the
-- profile is the method's own (macro claim_lines_per_month, dbt_project/macros/delivery_facts.sql,
-- also behind fct_insurer_monthly_sessions).
with codes as (
    select code_list, prestatie_code, category
    from read_csv($prestatie_codes, header = true, delim = ',', quote = '"', all_varchar = true)
),
lines as (
    select c.insurer as insurer_id, c.service_date, k.category as prestatie_category, c.paid_amount
    from raw.claims c
    left join codes k on c.code_list = k.code_list and c.prestatie_code = k.prestatie_code
    where c.period = $period and c.insurer = $insurer and c.service_date between $start and $end
),
profile as (
    {{ claim_lines_per_month('lines') }}
)
select month, claim_lines, session_lines, credit_lines, paid_amount
from profile
