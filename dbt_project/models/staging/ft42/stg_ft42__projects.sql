with

source as (

    select * from {{ source('ft42', 'projects') }}

),

renamed as (

    -- The columns `projects` declares (models/marts/projects.yml), renamed and cast to its types.
    select
        {{ declared_columns('projects') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
