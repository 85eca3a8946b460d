{{
    config(
        unique_key='id',
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_students')) }}",
        post_hook=[
            "create index if not exists {{ this.identifier }}_login_idx on {{ this }} (login)",
            "create index if not exists {{ this.identifier }}_email_idx on {{ this }} (email)",
            "create index if not exists {{ this.identifier }}_kind_idx on {{ this }} (kind)",
            "create index if not exists {{ this.identifier }}_updated_at_idx on {{ this }} (updated_at)",
        ],
    )
}}

{{ mirrored_rows(ref('int_ft42__current_students')) }}
