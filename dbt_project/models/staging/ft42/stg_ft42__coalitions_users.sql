with

source as (

    select * from {{ source('ft42', 'coalitions_users') }}

),

renamed as (

    -- The columns `coalitions_users` declares (models/marts/coalitions_users.yml), renamed and cast to its types.
    select
        {{ declared_columns('coalitions_users') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
