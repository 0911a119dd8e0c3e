"""The domain: models, rules, the state machine, typed errors, working days, events and emails as values.

May import: the standard library, pydantic, and the small pure libraries the rules need (holidays, icalendar,
email_validator). Never boto3, HTTP, Jinja, Powertools or the settings: whatever the domain needs is passed in.
"""
