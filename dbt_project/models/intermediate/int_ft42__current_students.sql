with

users as (

    select * from {{ ref('stg_ft42__users') }}

),

current_students as (

    select users.*
    from users
    -- Seen by the reference listing or changed since it: users it left out have gone.
    where
        users.load_id >= {{ reference_listing('users') }}
        -- Changed since as a non-student or alumnus: gone on positive evidence.
        and users.kind = 'student'
        and not users.alumni_p

)

select * from current_students
