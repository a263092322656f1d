{#- Why a claim line is not a counted session (method.md §2), or null when it counts.

    Exactly one reason per line: the FIRST rule of §2 the line fails, in the order of
    §2 (rule 1 code list, 2 prestatie code, 3 coverage, 4 dates, 5 exclusion window,
    6 debit and net paid):

      1. code_list_not_073_074        code_list is not 073 or 074
      2. prestatie_code_unknown       (code_list, prestatie_code) not in the prestatie_codes seed
         prestatie_not_session        in the seed, but category is not `session`
      3. coverage_not_bv_av           coverage is not BV or AV
      4. service_date_outside_period  service_date missing or outside [period_start, period_end]
         processed_after_cutoff       processed_date missing or after the delivery's cutoff_date
      5. exclusion_window             service_date inside an exclusion window of the period (§9)
      6. rejected_zero_paid           paid_amount is 0 (or missing): rejected line
         orphan_credit                credit line (paid < 0) whose original_claim_id is empty or
                                      not a claim_id in the same insurer's delivery
         credit_line                  any other credit line (credits never count themselves)
         fully_credited               debit line whose net paid amount is <= 0
      then, for a line that would count:
         implausible_birth_date       birth_date missing, after its service_date or before
                                      1900-01-01 (delivery-contract.md, plausibility): the
                                      contents gate blocks such a period; the method never
                                      guesses an age, so such a line is never a session

    Used by int_counted_sessions (reason is null), int_excluded_lines (reason is not
    null) and int_line_verdict_summary (both, counted per insurer and month), so all
    are decided by this one expression and every line lands in exactly one verdict.
    Expects the columns of int_claim_lines_netted. -#}
{% macro claim_line_exclusion_reason() -%}
    case
        when discipline is null then 'code_list_not_073_074'
        when prestatie_category is null then 'prestatie_code_unknown'
        when prestatie_category <> 'session' then 'prestatie_not_session'
        when coverage is null or coverage not in ('BV', 'AV') then 'coverage_not_bv_av'
        when service_date is null or service_date < period_start or service_date > period_end
            then 'service_date_outside_period'
        when processed_date is null or cutoff_date is null or processed_date > cutoff_date
            then 'processed_after_cutoff'
        when in_exclusion_window then 'exclusion_window'
        when paid_amount is null or paid_amount = 0 then 'rejected_zero_paid'
        when paid_amount < 0 and is_orphan_credit then 'orphan_credit'
        when paid_amount < 0 then 'credit_line'
        when net_paid_amount <= 0 then 'fully_credited'
        when birth_date is null or birth_date > service_date or birth_date < cast('1900-01-01' as date)
            then 'implausible_birth_date'
    end
{%- endmacro %}

{% macro exclusion_reasons() -%}
    {{ return(['code_list_not_073_074', 'prestatie_code_unknown', 'prestatie_not_session',
               'coverage_not_bv_av', 'service_date_outside_period', 'processed_after_cutoff',
               'exclusion_window', 'rejected_zero_paid', 'orphan_credit', 'credit_line', 'fully_credited',
               'implausible_birth_date']) }}
{%- endmacro %}


{#- method.md §9: whether `column` (a service date) lies inside an exclusion window
    (the exclusion_windows seed, bounds inclusive), as a literal predicate. The windows
    are a handful of rows of configuration, read when the model is compiled: a range
    join of every claim line against them would cost a scan, and with no window
    (the default) the predicate is simply `false`. A window outside the period cannot
    matter: rule 4 (service_date_outside_period) comes first. The model that calls it
    declares `-- depends_on: ref('exclusion_windows')`. -#}
{% macro exclusion_window_predicate(column) -%}
    {%- if not execute -%}{{ return('false') }}{%- endif -%}
    {%- set query -%}
        select cast(first_date as string) as first_date, cast(last_date as string) as last_date
        from {{ ref('exclusion_windows') }}
        order by first_date, last_date
    {%- endset -%}
    {%- set windows = run_query(query) -%}
    {%- if windows.rows | length == 0 -%}{{ return('false') }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for row in windows.rows -%}
        {%- do parts.append(column ~ " between cast('" ~ row[0] ~ "' as date) and cast('" ~ row[1] ~ "' as date)") -%}
    {%- endfor -%}
    {{ return('(' ~ (parts | join(' or ')) ~ ')') }}
{%- endmacro %}
