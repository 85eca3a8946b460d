with

source as (

    select * from {{ source('ft42', 'cursus_users') }}

),

renamed as (

    -- The columns `cursus_users` declares (models/marts/cursus_users.yml), renamed and cast to its types.
    select
        {{ declared_columns('cursus_users') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
