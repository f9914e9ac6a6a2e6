"""Fields every event shares, and the UTC timestamp rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

from ._frozen import freeze_json

__all__ = ["EventBase", "Json", "JsonObject", "Text", "utc_now"]

# Text JSON can encode. Any pattern makes pydantic-core read the str as UTF-8, which refuses a lone
# surrogate natively (no Python call: measured free); "^" matches everything else. The JSON
# Schema leaves the marker out (codec.event_json_schema).
Text: TypeAlias = Annotated[str, StringConstraints(pattern="^")]
# JSON values as events carry them: finite numbers (allow_inf_nan=False below), encodable text,
# read-only containers (see _frozen).
Json: TypeAlias = Annotated[JsonValue, AfterValidator(freeze_json)]
JsonObject: TypeAlias = Annotated[dict[str, JsonValue], AfterValidator(freeze_json)]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (never a naive datetime)."""
    return datetime.now(UTC)


class EventBase(BaseModel):
    """Common envelope: who (run_id), where in the run's log (seq), when (ts).

    ``seq`` is assigned by the bus when the event enters the run's log; a producer leaves it
    at 0 ("not yet sequenced"). Every event a subscriber receives has ``seq >= 1``.
    """

    # frozen: one event object goes to every subscriber, wait() and the store; nobody may change
    # it for the others. No NaN/inf: JSON has no spelling for them (the replay would differ).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    run_id: Text = Field(min_length=1, description="The run this event belongs to.")
    seq: int = Field(default=0, ge=0, description="Position in the run's log: 1, 2, 3... (0 = not yet sequenced).")
    ts: AwareDatetime = Field(
        default_factory=utc_now,
        description="When the event was produced: RFC 3339 with a UTC offset. Naive datetimes are rejected.",
    )
    parent_run_id: Text | None = Field(default=None, description="For a loop's child run: the loop's run_id.")
    step: int | None = Field(default=None, ge=0, description="For a loop's child run: the step index.")

    @field_validator("ts")
    @classmethod
    def _normalise_to_utc(cls, value: datetime) -> datetime:
        """Store every timestamp in UTC so the wire form is one shape."""
        return value if value.tzinfo is UTC else value.astimezone(UTC)
