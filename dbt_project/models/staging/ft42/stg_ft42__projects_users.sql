with

source as (

    select * from {{ source('ft42', 'projects_users') }}

),

renamed as (

    -- The columns `projects_users` declares (models/marts/projects_users.yml), renamed and cast to its types.
    select
        {{ declared_columns('projects_users') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
