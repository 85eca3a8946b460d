{{ current_rows('coalitions') }}
