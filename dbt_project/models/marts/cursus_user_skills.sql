{{
    config(
        unique_key=['cursus_user_id', 'skill_id'],
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_cursus_user_skills')) }}",
        post_hook=[
            "create index if not exists {{ this.identifier }}_skill_id_idx on {{ this }} (skill_id)",
        ],
    )
}}

{{ mirrored_rows(ref('int_ft42__current_cursus_user_skills')) }}
