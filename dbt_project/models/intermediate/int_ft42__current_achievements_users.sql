{#-
    The enrolled users are read from the raw cursus_users rather than from its models, so that a
    cursus_users build (`stg_ft42__cursus_users+`) does not take achievements_users with it, nor a
    failed one stop it: this table is published whenever its own listing completes.
-#}

with

held as (

    select * from {{ ref('stg_ft42__achievements_users') }}

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

current_held as (

    select held.*
    from held
    where
        held.load_id >= {{ completed_pass_reference('achievements_users') }}
        -- The listing covers the whole network: keep the cursus's users.
        and held.user_id in (select enrolled_users.user_id from enrolled_users)

)

select * from current_held
