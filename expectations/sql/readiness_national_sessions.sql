-- Suite release_readiness (orchestration/gates/release_readiness.py): counted sessions per insurer in
-- $period, from the method's mart (the market shares the suite compares with the previous period).
select insurer_id, sum(counted_sessions)
from marts.fct_insurer_monthly_sessions
where period = $period
group by insurer_id
