with

source as (

    select * from {{ source('ft42', 'users') }}

),

renamed as (

    -- The columns `users` declares (models/marts/users.yml), renamed and cast to its types:
    -- dlt creates varchar columns, users is text throughout.
    select
        {{ declared_columns('users') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
