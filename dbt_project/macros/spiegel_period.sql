{#- The period being computed, var('period') (else the environment's SPIEGEL_PERIOD), validated.

    The platform passes the period as SPIEGEL_PERIOD: dbt re-parses the whole project
    whenever --vars change, but only the files using an environment variable whose value
    changed (orchestration/method/asset.py). Tests and hand runs use --vars.

    There is deliberately no default: when a model is compiled or run (execute) without
    `--vars '{period: YYYY-vN}'` this raises a compiler error that says so, so nothing is
    computed for a guessed period. At parse time (execute is false) it returns a
    placeholder so `dbt parse`, `dbt seed` and `dbt ls` work without the var. A
    well-formed period that is not in the periods seed builds nothing and fails the
    singular test assert_period_is_known. -#}
{% macro spiegel_period() -%}
    {%- set period = var('period', none) -%}
    {%- if period is none or (period | string | trim) == '' -%}
        {%- set period = env_var('SPIEGEL_PERIOD', '') -%}
    {%- endif -%}
    {%- if period is none or (period | string | trim) == '' -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "var 'period' is required: run e.g. dbt build --vars '{period: 2024-v1}', or set SPIEGEL_PERIOD (method.md §1)") }}
        {%- endif -%}
        {{ return('') }}
    {%- endif -%}
    {%- set period = period | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-v[1-3]$', period) -%}
        {{ exceptions.raise_compiler_error(
            "var 'period' must look like YYYY-vN with N in 1..3 (method.md §1), got '" ~ period ~ "'") }}
    {%- endif -%}
    {{ return(period) }}
{%- endmacro %}


{#- Pre-hook of every model: on an incremental run, delete the period's rows before
    the delete+insert, so a period whose new result is empty does not keep stale rows. -#}
{% macro spiegel_clear_period() -%}
    {%- if execute and model.config.materialized == 'incremental' and not flags.FULL_REFRESH -%}
        {%- set existing = load_relation(this) -%}
        {%- if existing is not none -%}
            {{ adapter.dispatch('spiegel_delete_period', 'spiegel')(this, spiegel_period()) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro default__spiegel_delete_period(relation, period) -%}
    delete from {{ relation }} where period = '{{ period }}'
{%- endmacro %}

{#- Spark's Parquet tables have no delete: the period is the table's partition. -#}
{% macro spark__spiegel_delete_period(relation, period) -%}
    alter table {{ relation }} drop if exists partition (period = '{{ period }}')
{%- endmacro %}


{#- method.md §10: the period an index movement is measured from: the previous version
    of the same year (v1 → v2, v2 → v3), or for a v1 the v3 of the year before. -#}
{% macro spiegel_previous_period() -%}
    {%- set period = spiegel_period() -%}
    {%- if period == '' -%}{{ return('') }}{%- endif -%}
    {%- set year = period[:4] | int -%}
    {%- set version = period[-1:] | int -%}
    {%- if version == 1 -%}
        {{ return((year - 1) ~ '-v3') }}
    {%- endif -%}
    {{ return(year ~ '-v' ~ (version - 1)) }}
{%- endmacro %}
