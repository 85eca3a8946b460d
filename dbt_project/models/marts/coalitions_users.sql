{{
    config(
        unique_key='id',
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_coalitions_users')) }}",
        post_hook=[
            "create index if not exists {{ this.identifier }}_user_id_idx on {{ this }} (user_id)",
            "create index if not exists {{ this.identifier }}_coalition_id_idx on {{ this }} (coalition_id)",
        ],
    )
}}

{{ mirrored_rows(ref('int_ft42__current_coalitions_users')) }}
