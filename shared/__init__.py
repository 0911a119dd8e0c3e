"""familynet's shared Python package: models, rules, adapters and config used by every function."""
