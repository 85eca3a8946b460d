with

source as (

    select * from {{ source('ft42', 'users') }}

),

renamed as (

    -- dlt creates varchar columns; users is text throughout.
    select
        id,
        email::text as email,
        login::text as login,
        first_name::text as first_name,
        last_name::text as last_name,
        usual_full_name::text as usual_full_name,
        usual_first_name::text as usual_first_name,
        kind::text as kind,
        displayname::text as displayname,
        staff_p,
        correction_point::integer as correction_point,
        pool_month::text as pool_month,
        pool_year::text as pool_year,
        location::text as location,
        wallet,
        phone::text as phone,
        anonymize_date,
        data_erasure_date,
        created_at,
        updated_at,
        alumnized_at,
        alumni_p,
        active_p,
        image__link::text as image_link,
        image__versions__large::text as image_large,
        image__versions__medium::text as image_medium,
        image__versions__small::text as image_small,
        image__versions__micro::text as image_micro,
        url::text as url,
        _dlt_load_id::numeric as load_id

    from source

)

select * from renamed
