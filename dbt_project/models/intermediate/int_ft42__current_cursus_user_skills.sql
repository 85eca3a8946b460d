with

skills as (

    select * from {{ ref('stg_ft42__cursus_user_skills') }}

),

current_cursus_users as (

    select * from {{ ref('int_ft42__current_cursus_users') }}

),

current_skills as (

    -- An enrolment's skills come with it: current exactly when it is.
    select skills.*
    from skills
    inner join current_cursus_users on skills.cursus_user_id = current_cursus_users.id

)

select * from current_skills
