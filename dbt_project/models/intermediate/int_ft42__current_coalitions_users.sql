{#-
    The enrolled users are read from the raw cursus_users rather than from its models, so that a
    cursus_users build (`stg_ft42__cursus_users+`) does not take coalitions_users with it, nor a
    failed one stop it: this table is published whenever its own listing completes.
-#}
-- The relationships test on coalition_id reads raw coalitions: depending on it too is what lets
-- that test hold back `coalitions_users` (dbt build only lets a test block the nodes that
-- depend on all of its parents).
-- depends_on: {{ source('ft42', 'coalitions') }}

with

memberships as (

    select * from {{ ref('stg_ft42__coalitions_users') }}

),

raw_cursus_users as (

    select * from {{ source('ft42', 'cursus_users') }}

),

enrolled_users as (

    -- The users of the current cursus_users rows (int_ft42__current_cursus_users' rule).
    select raw_cursus_users.user__id as user_id
    from raw_cursus_users
    where raw_cursus_users._dlt_load_id::numeric >= {{ reference_listing('cursus_users') }}

),

current_memberships as (

    select memberships.*
    from memberships
    where
        memberships.load_id >= {{ reference_listing('coalitions_users') }}
        -- The listing covers every campus and cursus: keep the cursus's users.
        and memberships.user_id in (select enrolled_users.user_id from enrolled_users)

)

select * from current_memberships
