"""familynet's shared Python package, in layers (each imports only those below it, checked by `make lint`):
web → views → service → adapters → domain; config.py and observability.py stand below them all."""
