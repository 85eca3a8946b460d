{{ config(post_hook="{{ load_id_index(source('ft42', 'projects_users')) }}") }}

-- The columns `projects_users` declares (models/marts/projects_users.yml), renamed and cast to its types.
-- One select, no CTE: PostgreSQL flattens only a view without CTEs into the query that reads it,
-- so the mart's anti-joins on id read just the ids, not every cast column of the whole table.
select
    {{ declared_columns('projects_users') }},
    _dlt_load_id::numeric as load_id
from {{ source('ft42', 'projects_users') }}
