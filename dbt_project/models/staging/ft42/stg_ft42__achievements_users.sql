with

source as (

    select * from {{ source('ft42', 'achievements_users') }}

),

renamed as (

    -- The columns `achievements_users` declares (models/marts/achievements_users.yml), renamed and cast to its types.
    select
        {{ declared_columns('achievements_users') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
