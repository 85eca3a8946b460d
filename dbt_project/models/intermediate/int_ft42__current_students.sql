{#-
    The reference full listing: the one this run just loaded (the sync passes its load id in
    FT42_FULL_LOAD_ID), else the last full listing that reached `users`, from the run ledger: a
    sync that published `users` and failed after it (in the snapshot, say) still counts, or the
    next run would bring back the users its listing had removed.
    An env var rather than a dbt var: a changed var forces dbt to re-parse the whole project.
-#}
{%- set full_load_id = env_var('FT42_FULL_LOAD_ID', '') -%}

with

users as (

    select * from {{ ref('stg_ft42__users') }}

),

reference_listing as (

    select max(load_id::numeric) as load_id
    from {{ source('ft42_sync', 'sync_tables') }}
    where table_name = 'users' and mode = 'full'
        and (status in ('loaded', 'succeeded') or published_at is not null)

),

current_students as (

    select users.*
    from users
    cross join reference_listing
    -- Seen by the reference listing or changed since it: users it left out have gone.
    where users.load_id >= reference_listing.load_id
    -- Changed since as a non-student or alumnus: gone on positive evidence.
    and users.kind = 'student'
    and not users.alumni_p

)

select * from current_students
