{{ current_rows('cursus_users') }}
