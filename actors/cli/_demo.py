"""The built-in demo pipeline: a little of every event kind, paced so progress is visible."""

from __future__ import annotations

import hashlib

from runwire.actors import RunContext

__all__ = ["demo_pipeline"]

_TEXT = (
    "runwire streams every run as ordered, typed events: progress, milestones, token deltas "
    "and artifacts, then exactly one terminal event."
)


def demo_pipeline(ctx: RunContext) -> dict[str, object]:
    """Pretend to analyse ``steps`` items, stream a sentence token by token, write an artifact."""
    steps = int(ctx.inputs.get("steps", 20))  # type: ignore[arg-type]
    delay = float(ctx.inputs.get("delay", 0.05))  # type: ignore[arg-type]
    ctx.milestone("analysis_started", items=steps)
    for i in range(steps):
        ctx.wait_cancelled(delay)  # paced, and a cancel interrupts the pause at once
        ctx.progress((i + 1) / (2 * steps), current=i + 1, total=steps, message=f"item {i + 1}/{steps}")
    ctx.milestone("items_analysed", items=steps)
    for i, word in enumerate(_TEXT.split(" ")):
        ctx.wait_cancelled(delay / 4)
        ctx.delta("summary", word if i == 0 else " " + word, artifact_id="summary.txt")
    ctx.progress(1.0, current=steps, total=steps, message="summary written")
    digest = hashlib.sha256(_TEXT.encode()).hexdigest()
    ctx.artifact("summary.txt", size=len(_TEXT.encode()), sha256=digest, content=_TEXT)
    return {"items": steps, "summary_sha256": digest}
