{{ current_rows('projects') }}
