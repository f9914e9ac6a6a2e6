"""Parse and dump events as JSON, through one cached ``TypeAdapter``."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .events import TERMINAL_TYPES, RunEvent

__all__ = ["dump_event", "event_json_schema", "is_terminal", "parse_event"]

_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)


def parse_event(data: bytes | str | dict[str, Any]) -> RunEvent:
    """Validate JSON text/bytes or a dict into the right event model (by its ``type``).

    Raises ``pydantic.ValidationError`` with a message naming the bad field.
    """
    if isinstance(data, dict):
        return _ADAPTER.validate_python(data)
    return _ADAPTER.validate_json(data)


def dump_event(event: RunEvent) -> bytes:
    """Serialize an event to compact JSON bytes (RFC 3339 timestamps, UTC)."""
    return event.__pydantic_serializer__.to_json(event)


def is_terminal(event: RunEvent) -> bool:
    """True for run.completed / run.failed / run.cancelled."""
    return event.type in TERMINAL_TYPES


class _Schema(GenerateJsonSchema):
    """Leaves out ``Text``'s "^" marker pattern: it means "text UTF-8 can encode", which every
    JSON string is."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        out = super().str_schema(schema)
        if out.get("pattern") == "^":
            del out["pattern"]
        return out


def event_json_schema() -> str:
    """The JSON Schema of the whole protocol, as stable, pretty-printed text."""
    schema = _ADAPTER.json_schema(mode="serialization", schema_generator=_Schema)
    schema["title"] = "RunEvent"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
