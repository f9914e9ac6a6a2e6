"""Fields every event shares, and the UTC timestamp rule."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = ["EventBase", "utc_now"]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (never a naive datetime)."""
    return datetime.now(UTC)


class EventBase(BaseModel):
    """Common envelope: who (run_id), where in the run's log (seq), when (ts).

    ``seq`` is assigned by the bus when the event enters the run's log; a producer leaves it
    at 0 ("not yet sequenced"). Every event a subscriber receives has ``seq >= 1``.
    """

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    run_id: str = Field(min_length=1, description="The run this event belongs to.")
    seq: int = Field(default=0, ge=0, description="Position in the run's log: 1, 2, 3... (0 = not yet sequenced).")
    ts: AwareDatetime = Field(
        default_factory=utc_now,
        description="When the event was produced: RFC 3339 with a UTC offset. Naive datetimes are rejected.",
    )
    parent_run_id: str | None = Field(default=None, description="For a loop's child run: the loop's run_id.")
    step: int | None = Field(default=None, ge=0, description="For a loop's child run: the step index.")

    @field_validator("ts")
    @classmethod
    def _normalise_to_utc(cls, value: datetime) -> datetime:
        """Store every timestamp in UTC so the wire form is one shape."""
        return value if value.tzinfo is UTC else value.astimezone(UTC)
