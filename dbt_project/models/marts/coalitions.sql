{{
    config(
        unique_key='id',
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_coalitions')) }}",
    )
}}

{{ mirrored_rows(ref('int_ft42__current_coalitions')) }}
