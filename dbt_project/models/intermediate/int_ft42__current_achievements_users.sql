{#-
    The enrolled users are read from the raw cursus_users rather than from its models, so that a
    cursus_users build (`stg_ft42__cursus_users+`) does not take achievements_users with it, nor a
    failed one stop it: this table is published whenever its own listing completes.
    One select, no CTE: PostgreSQL flattens only a view without CTEs into the query that reads it,
    so the mart's anti-joins on id read just the ids.
-#}
select held.*
from {{ ref('stg_ft42__achievements_users') }} as held
where
    held.load_id >= {{ completed_pass_reference('achievements_users') }}
    -- The listing covers the whole network: keep the users of the current cursus_users rows
    -- (int_ft42__current_cursus_users' rule).
    and held.user_id in (
        select raw_cursus_users.user__id
        from {{ source('ft42', 'cursus_users') }} as raw_cursus_users
        where raw_cursus_users._dlt_load_id::numeric >= {{ reference_listing('cursus_users') }}
    )
