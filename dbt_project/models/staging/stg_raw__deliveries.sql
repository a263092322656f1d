-- The delivery in force per (period, insurer), accepted or rejected, typed and renamed.
with

source as (

    select
        period,
        insurer,
        delivery_id,
        status,
        file_name,
        sha256,
        row_count,
        paid_amount_total,
        period_start,
        period_end,
        cutoff_date,
        rejection_rule,
        rejection_message,
        ingested_at
    from {{ source('raw', 'deliveries') }}

),

final as (

    select
        cast(period as string) as period,
        cast(insurer as string) as insurer_id,
        cast(delivery_id as string) as delivery_id,
        cast(status as string) as delivery_status,
        cast(file_name as string) as file_name,
        cast(sha256 as string) as sha256,
        cast(row_count as bigint) as row_count,
        cast(paid_amount_total as decimal(18, 2)) as paid_amount_total,
        cast(period_start as date) as manifest_period_start,
        cast(period_end as date) as manifest_period_end,
        cast(cutoff_date as date) as cutoff_date,
        cast(rejection_rule as string) as rejection_rule,
        cast(rejection_message as string) as rejection_message,
        cast(ingested_at as timestamp) as ingested_at
    from source

)

select * from final
