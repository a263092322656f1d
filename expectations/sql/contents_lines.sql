-- Suite delivery_contents (orchestration/gates/delivery_contents.py): the claim lines of the delivery
-- in force of ($period, $insurer), each with the category of its prestatie code (NULL: the
-- code is not in the seed for its code list). The module adds the select over `lines`: the
-- rule counts per label, then the first offending lines of the rules that have any.
with codes as (
    select code_list, prestatie_code, category
    from read_csv($prestatie_codes, header = true, delim = ',', quote = '"', all_varchar = true)
),
lines as (
    select c.*, k.category
    from raw.claims c
    left join codes k on c.code_list = k.code_list and c.prestatie_code = k.prestatie_code
    where c.period = $period and c.insurer = $insurer
)
