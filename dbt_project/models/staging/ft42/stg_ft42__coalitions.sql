with

source as (

    select * from {{ source('ft42', 'coalitions') }}

),

renamed as (

    -- The columns `coalitions` declares (models/marts/coalitions.yml), renamed and cast to its types.
    select
        {{ declared_columns('coalitions') }},
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
