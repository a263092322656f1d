-- Suite delivery_completeness (orchestration/gates/completeness.py): the monthly profile of
-- the delivery in force of ($period, $insurer), service dates $start..$end, one scan.
with codes as (
    select code_list, prestatie_code, category
    from read_csv($prestatie_codes, header = true, delim = ',', quote = '"', all_varchar = true)
)
select strftime(c.service_date, '%Y-%m') as month,
       count(*) as claim_lines,
       count_if(k.category = 'session' and c.paid_amount > 0) as session_lines,
       count_if(c.paid_amount < 0) as credit_lines,
       coalesce(sum(c.paid_amount), 0) as paid_amount
from raw.claims c
left join codes k on c.code_list = k.code_list and c.prestatie_code = k.prestatie_code
where c.period = $period and c.insurer = $insurer and c.service_date between $start and $end
group by 1
