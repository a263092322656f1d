-- The gate log (orchestration/gates/log.py) and the monthly profiles of the deliveries
-- (suite delivery_completeness, orchestration/gates/delivery_completeness.py).
create schema if not exists quality;
create table if not exists quality.gate_results (
    period varchar not null,
    insurer varchar,
    delivery_id varchar,
    suite varchar not null,
    passed boolean not null,
    evaluated_at timestamp not null,
    outcomes varchar not null,
    data_docs varchar
);
create table if not exists quality.delivery_month_profiles (
    period varchar not null,
    insurer varchar not null,
    delivery_id varchar not null,
    month varchar not null,
    claim_lines bigint not null,
    session_lines bigint not null,
    credit_lines bigint not null,
    paid_amount decimal(18, 2) not null,
    profiled_at timestamp not null
);
