"""A real ODA loop: keep a repository's llms.txt (and llms-full.txt) current, one part per step.

- observe: analyse the repository and read the current llms.txt; digest what each part should be
  and what it is.
- decide: the first part (in file order) that is missing, stale or no longer wanted, as one step —
  then llms-full.txt if it is stale — else Finish.
- act: a step run regenerates that one part from the repository and rewrites the file atomically.

Offline and deterministic; the loop ends with the one-shot pipeline's bytes (tested). Each observe
reads the source afresh: use a local checkout (a git URL would be cloned at every observe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from runwire.actors.llms_txt import LLMS_TXT, LlmsTxtError, options_from_inputs
from runwire.actors.llms_txt.output import check_out_dir

from ._llms_parts import (
    FULL,
    INTRO,
    digest,
    expected_parts,
    file_digest,
    full_pieces,
    merge_parts,
    out_dir,
    read_parts,
    render_section,
    scan_repository,
    write_text,
)
from ._start import start_loop
from ._types import Act, Budget, Finish, LoopError, LoopState

if TYPE_CHECKING:
    from runwire.actors import RunContext, RunSystem

    from ._handle import LoopHandle

__all__ = ["Observation", "decide", "observe", "section_step", "start_llms_txt_loop"]

_STEP_KEYS = ("part", "drop")


@dataclass(frozen=True, slots=True)
class Observation:
    """Digests of the parts llms.txt should have and of those it has, in file order."""

    inputs: dict[str, JsonValue]
    expected: list[tuple[str, str]]
    current: list[tuple[str, str]]
    full_current: bool
    last_part: str | None  # the part the previous step wrote (to catch a part that stays stale)


def _sha(text: str) -> str:
    return digest([text])


def observe(state: LoopState) -> Observation:
    """Analyse the repository and the current output (runs on the loop's thinker thread)."""
    options = options_from_inputs(state.inputs)
    scan = scan_repository(options)
    out = out_dir(options)
    expected = [(name, _sha(text)) for name, text in expected_parts(scan, options.base_url)]
    current = [(name, _sha(text)) for name, text in read_parts(out / LLMS_TXT)]
    full_current = file_digest(out / FULL) == digest(full_pieces(scan, options.max_file_bytes))
    last = state.last
    last_part = str(last.result["part"]) if last is not None and isinstance(last.result, dict) else None
    return Observation(dict(state.inputs), expected, current, full_current, last_part)


def decide(obs: Observation) -> Act | Finish:
    """The next part to (re)generate or drop, else Finish with what the files hold."""
    wanted = {name for name, _ in obs.expected}
    for i, (name, sha) in enumerate(obs.expected):
        if i < len(obs.current) and obs.current[i] == (name, sha):
            continue
        if i < len(obs.current) and obs.current[i][0] not in wanted:
            return _act(obs, obs.current[i][0], drop=True)
        return _act(obs, name)
    if len(obs.current) > len(obs.expected):
        return _act(obs, obs.current[len(obs.expected)][0], drop=True)
    if not obs.full_current:
        return _act(obs, FULL)
    return Finish({"parts": [name for name, _ in obs.expected], "up_to_date": [LLMS_TXT, FULL]})


def _act(obs: Observation, part: str, drop: bool = False) -> Act:
    if part == obs.last_part and not drop:
        # the step just wrote this part and it is still not what the repository says
        raise LoopError(f"part {part!r} is still stale right after it was regenerated: is the repository changing?")
    inputs: dict[str, JsonValue] = {**obs.inputs, "part": part, "drop": drop}
    return Act(section_step, inputs, name=f"{'drop' if drop else 'write'} {part}")


def section_step(ctx: RunContext) -> dict[str, JsonValue]:
    """A step: regenerate one part of llms.txt (or llms-full.txt) from the repository and write it."""
    inputs = {k: v for k, v in ctx.inputs.items() if k not in _STEP_KEYS}
    part = ctx.inputs.get("part")
    if not isinstance(part, str) or not part:
        raise LlmsTxtError("input 'part' is required: 'intro', a section name or 'llms-full.txt'")
    options = options_from_inputs(inputs)
    out = out_dir(options)
    check_out_dir(out, (LLMS_TXT, FULL))
    ctx.milestone("part_started", part=part)
    if part == FULL:
        path, size, sha = write_text(out, FULL, full_pieces(scan_repository(options), options.max_file_bytes))
        ctx.artifact(FULL, path=path, media_type="text/markdown", size=size, sha256=sha)
        return {"part": part, "action": "written", "bytes": size}
    text: str | None = None
    links = 0
    if ctx.inputs.get("drop") is not True:
        if part == INTRO:
            text = expected_parts(scan_repository(options), options.base_url)[0][1]
        else:
            sections = scan_repository(options, section=part).sections
            text = render_section(sections[0], options.base_url) if sections else None
            links = len(sections[0].files) if sections else 0
    ctx.check_cancelled()
    merged = merge_parts(read_parts(out / LLMS_TXT), part, text)
    path, size, sha = write_text(out, LLMS_TXT, (t for _, t in merged))
    action = "written" if text is not None else "dropped"
    ctx.milestone("section_generated", section=part, action=action, links=links)
    ctx.artifact(LLMS_TXT, path=path, media_type="text/markdown", size=size, sha256=sha)
    return {"part": part, "action": action, "bytes": size}


def start_llms_txt_loop(
    system: RunSystem, inputs: Mapping[str, Any], *, budget: Budget | None = None, name: str = "llms-txt-loop"
) -> LoopHandle:
    """Start the loop for ``inputs`` (the llms_txt pipeline's: source, out, base_url, exclude, ...).

    Bad inputs raise :class:`LlmsTxtError` here, before anything runs. The default budget allows
    64 steps (a handful of parts, each normally written once).
    """
    options_from_inputs(inputs)  # fail fast, with the pipeline's own messages
    return start_loop(
        system,
        observe,
        decide,
        budget=budget if budget is not None else Budget(max_steps=64),
        on_step_failure="stop",
        inputs=inputs,
        name=name,
    )
