{#- z of the funnel's outer limits: two-sided at var('funnel_outer_level') (0.998 by
    default, 3.090232), through the same confidence_z as the index's interval. The inner
    limits use confidence_z() itself (var('confidence_level')), so they always match the
    index interval. -#}
{% macro funnel_outer_z() -%}
    {{ confidence_z(var('funnel_outer_level', 0.998)) }}
{%- endmacro %}


{#- The q-quantile of an ascending list of doubles with n elements, interpolated
    linearly between the neighbouring order statistics (positions q·(n − 1), counted
    from 0): v[lo] + (v[hi] − v[lo])·(pos − lo). DuckDB's quantile_cont interpolates in
    another order and can differ in the last bit; this is the textbook formula. -#}
{% macro sorted_list_quantile(sorted_list, n, q) -%}
    {%- set lo = "cast(floor(cast(" ~ q ~ " as double) * (" ~ n ~ " - 1)) as bigint)" -%}
    {%- set hi = "cast(ceil(cast(" ~ q ~ " as double) * (" ~ n ~ " - 1)) as bigint)" -%}
    ({{ list_at(sorted_list, lo) }}
        + ({{ list_at(sorted_list, hi) }} - {{ list_at(sorted_list, lo) }})
        * (cast({{ q }} as double) * ({{ n }} - 1) - floor(cast({{ q }} as double) * ({{ n }} - 1))))
{%- endmacro %}
