{#- The standard normal quantile Φ⁻¹(p) as a SQL expression, by Peter J. Acklam's
    rational approximation (relative error below 1.15e-9), so that z for
    `confidence_level` 0.95 is 1.959964 to 6 decimals (method.md §5).
    `p` is a SQL expression in (0, 1); it is repeated textually, so pass a literal
    or a column. -#}
{% macro inverse_normal_cdf(p) -%}
    {%- set a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00] -%}
    {%- set b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01] -%}
    {%- set c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00] -%}
    {%- set d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00] -%}
    {%- set pp = "cast(" ~ p ~ " as double)" -%}
    {%- set q_low = "sqrt(-2 * ln(" ~ pp ~ "))" -%}
    {%- set q_high = "sqrt(-2 * ln(1 - " ~ pp ~ "))" -%}
    {%- set q_mid = "(" ~ pp ~ " - 0.5)" -%}
    {%- set r_mid = "(" ~ q_mid ~ " * " ~ q_mid ~ ")" -%}
    (case
        when {{ pp }} <= 0 or {{ pp }} >= 1 then null
        when {{ pp }} < 0.02425 then
            ((((({{ c[0] }} * {{ q_low }} + {{ c[1] }}) * {{ q_low }} + {{ c[2] }}) * {{ q_low }} + {{ c[3] }}) * {{ q_low }} + {{ c[4] }}) * {{ q_low }} + {{ c[5] }})
            / (((({{ d[0] }} * {{ q_low }} + {{ d[1] }}) * {{ q_low }} + {{ d[2] }}) * {{ q_low }} + {{ d[3] }}) * {{ q_low }} + 1)
        when {{ pp }} > 1 - 0.02425 then
            -((((({{ c[0] }} * {{ q_high }} + {{ c[1] }}) * {{ q_high }} + {{ c[2] }}) * {{ q_high }} + {{ c[3] }}) * {{ q_high }} + {{ c[4] }}) * {{ q_high }} + {{ c[5] }})
            / (((({{ d[0] }} * {{ q_high }} + {{ d[1] }}) * {{ q_high }} + {{ d[2] }}) * {{ q_high }} + {{ d[3] }}) * {{ q_high }} + 1)
        else
            ((((({{ a[0] }} * {{ r_mid }} + {{ a[1] }}) * {{ r_mid }} + {{ a[2] }}) * {{ r_mid }} + {{ a[3] }}) * {{ r_mid }} + {{ a[4] }}) * {{ r_mid }} + {{ a[5] }}) * {{ q_mid }}
            / ((((({{ b[0] }} * {{ r_mid }} + {{ b[1] }}) * {{ r_mid }} + {{ b[2] }}) * {{ r_mid }} + {{ b[3] }}) * {{ r_mid }} + {{ b[4] }}) * {{ r_mid }} + 1)
    end)
{%- endmacro %}


{#- z of a two-sided interval at `confidence_level` (default var('confidence_level')):
    Φ⁻¹(1 − (1 − level) / 2); 1.959964 at 0.95 (method.md §5). -#}
{% macro confidence_z(confidence_level=none) -%}
    {%- set level = confidence_level if confidence_level is not none else var('confidence_level', 0.95) -%}
    {%- set level = level | float -%}
    {%- if level <= 0 or level >= 1 -%}
        {{ exceptions.raise_compiler_error("var 'confidence_level' must lie strictly between 0 and 1, got " ~ level) }}
    {%- endif -%}
    {{ inverse_normal_cdf("1 - (1 - " ~ level ~ ") / 2") }}
{%- endmacro %}
