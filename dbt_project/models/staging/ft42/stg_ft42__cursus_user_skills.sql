{#-
    The skills come whole with each cursus_user (raw `skills`, JSON text); this view unnests
    them. It reads the raw table, where they are, but hangs off stg_ft42__cursus_users (the
    depends_on above) so that building cursus_users (`stg_ft42__cursus_users+`) builds them too.
-#}
-- depends_on: {{ ref('stg_ft42__cursus_users') }}

with

source as (

    select * from {{ source('ft42', 'cursus_users') }}

),

unnested as (

    select
        source.id::bigint as cursus_user_id,
        skill.id as skill_id,
        skill.name,
        skill.level,
        source._dlt_load_id::numeric as load_id

    from source
    cross join lateral jsonb_to_recordset(coalesce(source.skills, '[]')::jsonb)
        as skill (id bigint, name text, level numeric)

)

select * from unnested
