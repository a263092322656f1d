{#- The few places where DuckDB and Spark SQL differ, each one dispatched
    (adapter.dispatch) so that every model exists once and reads the same on both
    engines. default__ is DuckDB's spelling; spark__ is Spark SQL's. -#}

{#- 'YYYY-MM' of a date. -#}
{% macro year_month(date_expr) -%}
    {{ return(adapter.dispatch('year_month', 'spiegel')(date_expr)) }}
{%- endmacro %}
{% macro default__year_month(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}
{% macro spark__year_month(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}


{#- true when the whole string matches the regular expression. -#}
{% macro regexp_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'spiegel')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regexp_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}
{% macro spark__regexp_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}


{#- One bit per insurer: 1 shifted left by `position` (0-based), and the number of
    distinct insurers of a group as the number of bits set in the or of their bits. -#}
{% macro insurer_bit(position) -%}
    {{ return(adapter.dispatch('insurer_bit', 'spiegel')(position)) }}
{%- endmacro %}
{% macro default__insurer_bit(position) -%}
    cast(1 as ubigint) << cast({{ position }} as integer)
{%- endmacro %}
{% macro spark__insurer_bit(position) -%}
    shiftleft(cast(1 as bigint), cast({{ position }} as integer))
{%- endmacro %}

{% macro count_bits_or(bits) -%}
    cast(bit_count(bit_or({{ bits }})) as bigint)
{%- endmacro %}


{#- A struct of the named columns (compared field by field, so min() of it is the
    lexicographically first row). -#}
{% macro struct_of(columns) -%}
    {{ return(adapter.dispatch('struct_of', 'spiegel')(columns)) }}
{%- endmacro %}
{% macro default__struct_of(columns) -%}
    { {%- for c in columns %}'{{ c }}': {{ c }}{% if not loop.last %}, {% endif %}{% endfor -%} }
{%- endmacro %}
{% macro spark__struct_of(columns) -%}
    named_struct({%- for c in columns %}'{{ c }}', {{ c }}{% if not loop.last %}, {% endif %}{% endfor -%})
{%- endmacro %}


{#- A CTE that must not be spooled: DuckDB's `not materialized` hint; Spark inlines
    CTEs anyway. Used as `name as {{ cte_not_materialized() }} (...)`. -#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized', 'spiegel')()) }}
{%- endmacro %}
{% macro default__cte_not_materialized() -%}
    not materialized
{%- endmacro %}
{% macro spark__cte_not_materialized() -%}
{%- endmacro %}


{#- The first day of every month from the month of `start_date` to the month of
    `end_date`, as a table expression usable after `from x,` or `from x cross join`:
    one row per month, column `month_start`. -#}
{% macro months_between_as_rows(start_date, end_date, alias) -%}
    {{ return(adapter.dispatch('months_between_as_rows', 'spiegel')(start_date, end_date, alias)) }}
{%- endmacro %}
{% macro default__months_between_as_rows(start_date, end_date, alias) -%}
    unnest(generate_series(
        date_trunc('month', {{ start_date }}),
        date_trunc('month', {{ end_date }}),
        interval 1 month
    )) as {{ alias }}(month_start)
{%- endmacro %}
{% macro spark__months_between_as_rows(start_date, end_date, alias) -%}
    lateral (select explode(sequence(trunc({{ start_date }}, 'MM'), trunc({{ end_date }}, 'MM'), interval 1 month)) as month_start) as {{ alias }}
{%- endmacro %}


{#- A compensated sum of doubles (Kahan-Babuska-Neumaier), so both engines agree to the
    last bit where a plain sum would not: DuckDB's fsum; on Spark the same summation
    over the group's values by `aggregate`. NULL for a group without values, as fsum. -#}
{% macro compensated_sum(expr) -%}
    {{ return(adapter.dispatch('compensated_sum', 'spiegel')(expr)) }}
{%- endmacro %}
{% macro default__compensated_sum(expr) -%}
    fsum({{ expr }})
{%- endmacro %}
{% macro spark__compensated_sum(expr) -%}
    (case when count({{ expr }}) = 0 then cast(null as double) else aggregate(
        collect_list(cast({{ expr }} as double)),
        named_struct('s', cast(0 as double), 'c', cast(0 as double)),
        (acc, v) -> named_struct(
            's', acc.s + v,
            'c', acc.c + case when abs(acc.s) >= abs(v) then (acc.s - (acc.s + v)) + v
                              else (v - (acc.s + v)) + acc.s end),
        acc -> acc.s + acc.c) end)
{%- endmacro %}


{#- The values of a group as an ascending array (an aggregate). -#}
{% macro sorted_list(expr) -%}
    {{ return(adapter.dispatch('sorted_list', 'spiegel')(expr)) }}
{%- endmacro %}
{% macro default__sorted_list(expr) -%}
    list_sort(list({{ expr }}))
{%- endmacro %}
{% macro spark__sorted_list(expr) -%}
    array_sort(collect_list({{ expr }}))
{%- endmacro %}

{#- Element `index` (counted from 0) of an array: DuckDB's lists count from 1. -#}
{% macro list_at(list_expr, index) -%}
    {{ return(adapter.dispatch('list_at', 'spiegel')(list_expr, index)) }}
{%- endmacro %}
{% macro default__list_at(list_expr, index) -%}
    {{ list_expr }}[{{ index }} + 1]
{%- endmacro %}
{% macro spark__list_at(list_expr, index) -%}
    {{ list_expr }}[{{ index }}]
{%- endmacro %}

{#- A one-column table of the integers 0 .. n - 1, column `column`. -#}
{% macro integers_below(n, column) -%}
    {{ return(adapter.dispatch('integers_below', 'spiegel')(n, column)) }}
{%- endmacro %}
{% macro default__integers_below(n, column) -%}
    select unnest(range({{ n }})) as {{ column }}
{%- endmacro %}
{% macro spark__integers_below(n, column) -%}
    select explode(sequence(0, {{ n }} - 1)) as {{ column }}
{%- endmacro %}
