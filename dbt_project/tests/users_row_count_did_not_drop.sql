{{ config(severity='warn') }}
{#-
    Warns when users holds far fewer rows than after the previous successful sync: the circuit
    breaker stops such a run unless it was forced, so this flags forced or manual removals.
-#}
with previous_run as (

    select inserted + updated + unchanged as users_after
    from {{ source('ft42_sync', 'sync_runs') }}
    where status = 'succeeded'
    order by run_id desc
    limit 1

)

select previous_run.users_after, (select count(*) from {{ ref('users') }}) as users_now
from previous_run
where (select count(*) from {{ ref('users') }}) < 0.9 * previous_run.users_after
