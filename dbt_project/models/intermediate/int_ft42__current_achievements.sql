{{ current_rows('achievements') }}
