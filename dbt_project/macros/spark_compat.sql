{#- SPIEGEL_ENGINE=spark: what dbt-spark needs beside the portable models. -#}

{#- Jinja only, no SQL to lay out; sqlfluff's jinja tracer mistakes the indentation of the
    tags below (a for loop inside a set block inside a macro) for SQL and wants it removed.
    Text outside a macro block is ignored by dbt. -#}
-- noqa: disable=LT02

{#- dbt-spark's seed loader passes the values as bindings that the session method
    substitutes unquoted-escaped, so a value with an apostrophe ("at the patient's
    home") breaks the insert. This one writes escaped literals instead. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %},{% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}


{#- Before every dbt command on Spark: the source schema `raw` as views over the raw
    layer (orchestration/delivery/raw_layer.py): raw.deliveries over deliveries.parquet,
    raw.practice_register over practice_register.parquet and raw.claims over the Parquet
    file of every accepted delivery in force. On DuckDB the
    source is the warehouse's own raw schema and this does nothing. -#}
{% macro spiegel_register_raw() -%}
    {{ return(adapter.dispatch('spiegel_register_raw', 'spiegel')()) }}
{%- endmacro %}

{% macro default__spiegel_register_raw() -%}
{%- endmacro %}

{% macro spark__spiegel_register_raw() -%}
    {%- set raw = env_var('SPIEGEL_RAW_PARQUET', '') -%}
    {%- if execute and raw -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- do run_query("create or replace view raw.deliveries as select * from parquet.`"
                         ~ raw ~ "/deliveries.parquet`") -%}
        {%- do run_query("create or replace view raw.practice_register as select * from parquet.`"
                         ~ raw ~ "/practice_register.parquet`") -%}
        {%- set in_force = run_query("select period, insurer, delivery_id from raw.deliveries "
                                     ~ "where status = 'accepted' order by period, insurer") -%}
        {%- set branches = [] -%}
        {%- for row in in_force.rows -%}
            {%- do branches.append("select * from parquet.`" ~ raw ~ "/claims/"
                                   ~ row[0] ~ "/" ~ row[1] ~ "/" ~ row[2] ~ ".parquet`") -%}
        {%- endfor -%}
        {%- if branches -%}
            {%- do run_query("create or replace view raw.claims as\n" ~ (branches | join("\nunion all\n"))) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
