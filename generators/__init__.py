"""Build-time writers (`make schemas`): docs/openapi.json, events/ and docs/data-protection.md. Never deployed."""
