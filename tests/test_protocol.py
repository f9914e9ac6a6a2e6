"""The wire protocol: every kind round-trips, timestamps are aware UTC, the schema is current."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from runwire.protocol import (
    TERMINAL_TYPES,
    RunEvent,
    RunStarted,
    TextDelta,
    dump_event,
    event_json_schema,
    is_terminal,
    parse_event,
)

from .strategies import ALL_KINDS, any_event

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "protocol.schema.json"


def test_strategies_cover_every_kind_of_the_union() -> None:
    union = get_args(get_args(RunEvent)[0])
    assert set(union) == set(ALL_KINDS)


@settings(max_examples=1500)
@given(any_event())
def test_round_trip_every_kind(event: Any) -> None:
    raw = dump_event(event)
    back = parse_event(raw)
    assert type(back) is type(event)
    assert back == event.model_copy(update={"ts": event.ts.astimezone(UTC)})
    assert parse_event(raw.decode()) == back
    assert parse_event(json.loads(raw)) == back
    assert dump_event(back) == raw  # stable bytes: what the store and replay rely on


def test_naive_datetime_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        TextDelta(run_id="r", field="f", text="t", ts=datetime(2026, 1, 1, 12, 0))
    with pytest.raises(ValidationError, match="timezone"):
        parse_event({"type": "run.log", "run_id": "r", "ts": "2026-01-01T12:00:00", "message": "m"})


def test_timestamps_are_normalised_to_utc_rfc3339() -> None:
    plus2 = timezone(timedelta(hours=2))
    event = TextDelta(run_id="r", field="f", text="t", ts=datetime(2026, 1, 1, 14, 0, tzinfo=plus2))
    assert event.ts.utcoffset() == timedelta(0)
    assert json.loads(dump_event(event))["ts"] == "2026-01-01T12:00:00Z"


def test_default_timestamp_is_aware_utc() -> None:
    assert RunStarted(run_id="r", pipeline="p").ts.tzinfo is not None


def test_parse_picks_the_model_by_type_and_rejects_unknown_types() -> None:
    assert isinstance(parse_event({"type": "text.delta", "run_id": "r", "field": "f", "text": "x"}), TextDelta)
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_event({"type": "run.exploded", "run_id": "r"})
    with pytest.raises(ValidationError):
        parse_event(b"{not json")
    with pytest.raises(ValidationError, match="Extra inputs"):
        parse_event({"type": "run.log", "run_id": "r", "message": "m", "surprise": 1})


def test_terminal_kinds() -> None:
    assert {"run.completed", "run.failed", "run.cancelled"} == TERMINAL_TYPES
    assert is_terminal(parse_event({"type": "run.cancelled", "run_id": "r"}))
    assert not is_terminal(parse_event({"type": "run.log", "run_id": "r", "message": "m"}))


def test_committed_schema_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == event_json_schema(), (
        "docs/protocol.schema.json is stale: run `python -m runwire.protocol docs/protocol.schema.json`"
    )


def test_schema_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    subprocess.run([sys.executable, "-m", "runwire.protocol", str(out)], check=True, timeout=60)
    schema = json.loads(out.read_text())
    assert schema["title"] == "RunEvent"
    assert set(schema["discriminator"]["mapping"]) >= TERMINAL_TYPES | {"run.started", "text.delta", "stream.gap"}
