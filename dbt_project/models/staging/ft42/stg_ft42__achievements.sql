with

source as (

    select * from {{ source('ft42', 'achievements') }}

),

renamed as (

    -- The columns `achievements` declares (models/marts/achievements.yml), renamed and cast to its types.
    select
        {{ declared_columns('achievements') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
