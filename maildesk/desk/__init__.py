"""Everything that changes a ticket, run as named steps in order (``desk/steps``).

``Desk`` holds the fixed parts (settings, people, rules, templates, reply addresses, targets,
calendars); ``Context`` adds a session and ``now``; ``DeskHandler`` is what the intake pipeline
calls for each mail. The ticket operations (``desk/tickets``) keep their own deadlines.
"""
