-- method.md §1: var('period') must be a period of the periods seed (an unknown period
-- would silently compute nothing). A test of each period's method run, not of the seeds:
-- depends_on: {{ ref('int_period_deliveries') }}
select '{{ spiegel_period() }}' as period
where
    not exists (
        select 1
        from {{ ref('periods') }}
        where period = '{{ spiegel_period() }}'
    )
