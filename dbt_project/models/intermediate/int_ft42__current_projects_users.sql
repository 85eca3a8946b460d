{{ current_rows('projects_users', reference=completed_pass_reference('projects_users')) }}
