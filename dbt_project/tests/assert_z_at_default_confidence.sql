-- method.md §5: z = 1.959964 (6 decimals) for confidence_level 0.95, from the
-- inverse normal macro (Acklam), and z is symmetric and monotone.
with z as (
    select
        {{ confidence_z(0.95) }} as z95,
        {{ inverse_normal_cdf('0.025') }} as z025,
        {{ inverse_normal_cdf('0.5') }} as z50,
        {{ inverse_normal_cdf('0.995') }} as z995,
        {{ inverse_normal_cdf('0.001') }} as z001
)

select * from z
where round(z95, 6) <> 1.959964
    or abs(z95 + z025) > 1e-12
    or abs(z50) > 1e-12
    or round(z995, 6) <> 2.575829
    or round(z001, 6) <> -3.090232
