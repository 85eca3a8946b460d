{{
    config(
        unique_key='id',
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_cursus_users')) }}",
        post_hook=[
            "create index if not exists {{ this.identifier }}_user_id_idx on {{ this }} (user_id)",
            "create index if not exists {{ this.identifier }}_login_idx on {{ this }} (login)",
            "create index if not exists {{ this.identifier }}_blackholed_at_idx on {{ this }} (blackholed_at)",
        ],
    )
}}

{{ mirrored_rows(ref('int_ft42__current_cursus_users')) }}
