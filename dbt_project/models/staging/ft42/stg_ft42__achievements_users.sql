{{ config(post_hook="{{ load_id_index(source('ft42', 'achievements_users')) }}") }}

-- The columns `achievements_users` declares (models/marts/achievements_users.yml), renamed and cast to its types.
-- One select, no CTE: PostgreSQL flattens only a view without CTEs into the query that reads it,
-- so the mart's anti-joins on id read just the ids, not every cast column of the whole table.
select
    {{ declared_columns('achievements_users') }},
    _dlt_load_id::numeric as load_id
from {{ source('ft42', 'achievements_users') }}
