"""Writes events/: a JSON Schema and an example for every event, generated from the models in shared.domain.events.

`python -m generators.event_catalogue` (make schemas) rewrites the folder; tests compare it with `render()`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.domain.events import EVENT_SOURCE, EVENT_TYPES, Event, EventData

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
EXAMPLE_METADATA = {
    "event_id": "5b0c1f9e-6a57-4c59-9d59-0f3c8f1d2a10",
    "occurred_at": "2026-11-24T10:15:00Z",
    "correlation_id": "c0ffee00-1234-4abc-8def-000000000000",
}


def schema(model: type[EventData]) -> dict[str, Any]:
    document = Event[model].model_json_schema()  # type: ignore[valid-type]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:familynet:event:{model.detail_type}:v{model.version}",
        "description": f"`detail` of a {EVENT_SOURCE} event whose detail-type is {model.detail_type}",
        **document,
        "title": model.detail_type,
    }


def example(model: type[EventData]) -> dict[str, Any]:
    data = model.model_validate(model.example)
    envelope = Event[model](  # type: ignore[valid-type]
        metadata={**EXAMPLE_METADATA, "version": model.version}, data=data
    )
    return {
        "source": EVENT_SOURCE,
        "detail-type": model.detail_type,
        "detail": envelope.model_dump(mode="json"),
    }


def render() -> dict[str, str]:
    """Relative path under events/ → file text."""
    files: dict[str, str] = {}
    for name, model in sorted(EVENT_TYPES.items()):
        files[f"schemas/{name}.schema.json"] = json.dumps(schema(model), indent=2, sort_keys=True) + "\n"
        files[f"examples/{name}.json"] = json.dumps(example(model), indent=2, sort_keys=True) + "\n"
    return files


def write(folder: Path = EVENTS_DIR) -> int:
    for sub in ("schemas", "examples"):
        for stale in (folder / sub).glob("*.json"):
            stale.unlink()
    files = render()
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return len(files)


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write()} files under {EVENTS_DIR}\n")
