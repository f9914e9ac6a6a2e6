"""Properties over random texts, chunkings and timings: the whole text exactly once, throttling honoured.

The text-accounting properties run on their own (many examples, no I/O); the end-to-end ones run
DSPy's real streaming path against the scripted server (few examples, to keep the folder fast).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from typing import Any

import dspy
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runwire.actors import RunSystem
from runwire.actors.dspy import run_dspy
from runwire.actors.dspy._text import FieldText, JsonStringDecoder
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.protocol import RunCompleted

from .conftest import MakeLM
from .helpers import Seen, deltas, terminal, texts, watch

# no line-boundary characters other than "\n" (DSPy's parser splits on all of them)
_ALPHABET = st.characters(blacklist_categories=["Cs", "Zl", "Zp", "Cc"]) | st.sampled_from(list('\n [[]]##"\\'))
_TEXT = st.text(_ALPHABET, min_size=1, max_size=80)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@given(text=_TEXT, cuts=st.lists(st.integers(0, 200), max_size=12), refuse_at=st.none() | st.integers(0, 12))
@settings(max_examples=300)
def test_field_text_sends_a_prefix_and_settles_to_the_whole_text(
    text: str, cuts: list[int], refuse_at: int | None
) -> None:
    final = text.strip()
    field, sent, calls = FieldText(), "", 0

    def verify(piece: str) -> bool:
        nonlocal calls
        calls += 1
        return refuse_at is None or calls <= refuse_at

    for chunk in _split(text, cuts):
        sent += field.feed(chunk, verify)
        assert final.startswith(sent)
    suffix, diverged = field.settle(final)
    assert not diverged
    assert sent + suffix == final


def _taker(value: str) -> Any:
    """A ``RunListener.take`` over ``value``: accepts text only where it continues what is left."""
    left = [value]

    def take(text: str) -> bool:
        if not left[0].startswith(text):
            return False
        left[0] = left[0][len(text) :]
        return True

    return take


@given(
    text=_TEXT,
    cuts=st.lists(st.integers(0, 200), max_size=12),
    groups=st.lists(st.integers(1, 4), max_size=12),
    off_at=st.none() | st.integers(0, 80),
    json_mode=st.booleans(),
)
@settings(max_examples=300)
def test_a_batch_of_chunks_sends_what_feeding_them_one_by_one_sends(
    text: str, cuts: list[int], groups: list[int], off_at: int | None, json_mode: bool
) -> None:
    raw = " " + json.dumps(text) + "}" if json_mode else text
    chunks = _split(raw, cuts)
    value = text if json_mode else text.strip()
    if off_at is not None:  # the listener's raw value goes off here: a check against it refuses from then on
        value = value[:off_at] + "\x00" + value[off_at:]
    one, many = FieldText(json_mode), FieldText(json_mode)
    take_one, take_many = _taker(value), _taker(value)
    sent_one = "".join(one.feed(chunk, take_one) for chunk in chunks)
    sent_many, start = "", 0
    for size in [*groups, len(chunks)]:
        batch = chunks[start : start + size]
        start += size
        if batch:
            sent_many += many.feed_pieces(batch, take_many)
    assert (sent_many, many.broken, many.size) == (sent_one, one.broken, one.size)


@given(text=st.text(max_size=60), ascii_only=st.booleans(), cuts=st.lists(st.integers(0, 400), max_size=20))
@settings(max_examples=300)
def test_json_string_decoder_decodes_any_chunking(text: str, ascii_only: bool, cuts: list[int]) -> None:
    raw = " " + json.dumps(text, ensure_ascii=ascii_only) + ', "next": 1}'
    decoder = JsonStringDecoder()
    assert "".join(decoder.feed(piece) for piece in _split(raw, cuts)) == text


def _expected(answer: str) -> str:
    return answer.strip()


@given(
    answer=_TEXT,
    cuts=st.lists(st.integers(0, 300), min_size=1, max_size=25),
    delay=st.sampled_from([0.0, 0.001, 0.003]),
    completed=st.booleans(),
    json_adapter=st.booleans(),
    reasoning=st.none() | _TEXT,
    throttle=st.none() | st.tuples(st.sampled_from([50.0, 200.0]), st.sampled_from([0.0, 0.02])),
)
@settings(max_examples=int(os.environ.get("RUNWIRE_DSPY_EXAMPLES", "25")))
def test_deltas_add_up_to_the_final_text_for_any_chunking(
    system: RunSystem,
    lm_server: ScriptedServer,
    make_lm: MakeLM,
    answer: str,
    cuts: list[int],
    delay: float,
    completed: bool,
    json_adapter: bool,
    reasoning: str | None,
    throttle: tuple[float, float] | None,
) -> None:
    texts_in = [answer] if reasoning is None else [answer, reasoning]
    assume(all(_expected(t) and not re.search(r"\[\[ ## \w+ ## \]\]", t) for t in texts_in))
    fields = {"answer": _expected(answer)} if reasoning is None else {"reasoning": _expected(reasoning)}
    fields["answer"] = _expected(answer)  # after the reasoning, as ChainOfThought asks
    reply = json.dumps(fields) if json_adapter else chat_reply(completed=completed, **fields)
    lm_server.reply_with(Reply(chunks=tuple(_split(reply, cuts)), delay=delay))
    rate, max_delay = throttle if throttle is not None else (None, None)
    program = dspy.Predict("question -> answer") if reasoning is None else dspy.ChainOfThought("question -> answer")
    handle = run_dspy(
        system,
        program,
        lm=make_lm(),
        question="q",
        adapter=dspy.JSONAdapter() if json_adapter else None,
        delta_max_rate=rate,
        delta_max_delay=max_delay,
    )
    events = [s.event for s in watch(handle)]  # checks: seq without gaps, one terminal, and it is last
    end = terminal(events)
    assert isinstance(end, RunCompleted), end
    assert end.result == fields
    assert texts(events) == fields


def _arrivals(seen: list[Seen]) -> list[tuple[float, int]]:
    """(arrival time, characters received so far) after each delta."""
    total, out = 0, []
    for s in seen:
        if s.event.type == "text.delta":
            total += len(s.event.text)  # type: ignore[union-attr]
            out.append((s.at, total))
    return out


def _paced_tokens(count: int) -> list[str]:
    return [f"w{i} " for i in range(count)]


@given(rate=st.sampled_from([20.0, 50.0, 100.0]), max_delay=st.sampled_from([0.01, 0.03, 0.06]))
@settings(max_examples=6)
def test_throttling_bounds_the_rate_and_the_delay(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, rate: float, max_delay: float
) -> None:
    tokens = _paced_tokens(60)
    answer = "".join(tokens).strip()
    lm_server.reply_with(Reply(chunks=("[[ ## answer ## ]]\n", *tokens, "\n\n[[ ## completed ## ]]"), delay=0.005))
    before = len(lm_server.sent)
    handle = run_dspy(
        system, dspy.Predict("question -> answer"), lm=make_lm(), question="q",
        delta_max_rate=rate, delta_max_delay=max_delay,
    )  # fmt: skip
    seen = watch(handle)
    events = [s.event for s in seen]
    assert texts(events) == {"answer": answer}
    arrivals = _arrivals(seen)
    # rate: at most one delta per interval, plus the first one and the flush before the terminal; the
    # runtime keeps max_delay over the rate when they conflict (a pending delta waits at most max_delay)
    span = arrivals[-1][0] - arrivals[0][0]
    effective = max(rate, 1 / max_delay)
    assert len(arrivals) <= span * effective + 3, (len(arrivals), span)
    # delay: every token the server sent is at the subscriber within max_delay (+ scheduling slack)
    sent = lm_server.sent[before + 1 : before + 1 + len(tokens)]  # the answer's tokens, after the header
    slack = 0.15
    for j, (at, _) in enumerate(sent):
        needed = len("".join(tokens[: j + 1]).rstrip())
        arrived = next(t for t, got in arrivals if got >= needed)
        assert arrived - at <= max_delay + slack, (j, arrived - at)


def test_the_first_delta_is_not_delayed_by_the_throttle(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    tokens = _paced_tokens(30)
    lm_server.reply_with(Reply(chunks=("[[ ## answer ## ]]\n", *tokens, "\n\n[[ ## completed ## ]]"), delay=0.01))
    before = len(lm_server.sent)
    handle = run_dspy(
        system, dspy.Predict("question -> answer"), lm=make_lm(), question="q", delta_max_rate=2.0, delta_max_delay=0.5
    )
    seen = watch(handle)
    first_token_at = lm_server.sent[before + 1][0]
    arrivals = _arrivals(seen)
    # out at once, although the interval is 0.5 s (half of it is the bound: a loaded machine's
    # scheduling noise reaches 0.1 s, a held delta would wait the whole 0.5 s)
    assert arrivals[0][0] - first_token_at < 0.25
    assert arrivals[1][0] - arrivals[0][0] > 0.2  # the rest waits for the throttle
    assert texts([s.event for s in seen]) == {"answer": "".join(tokens).strip()}


@pytest.mark.parametrize("throttled", [False, True])
def test_the_terminal_comes_after_the_last_delta(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, throttled: bool
) -> None:
    lm_server.reply_with(Reply(chunks=("[[ ## answer ## ]]\n", "ends", " with", " a", "[", "[")))
    options: dict[str, Any] = {"delta_max_rate": 1.0, "delta_max_delay": 1.0} if throttled else {}
    events = [
        s.event
        for s in watch(run_dspy(system, dspy.Predict("question -> answer"), lm=make_lm(), question="q", **options))
    ]
    kinds = [e.type for e in events]
    assert kinds[-1] == "run.completed"
    assert max(i for i, k in enumerate(kinds) if k == "text.delta") < len(kinds) - 1
    assert texts(events) == {"answer": "ends with a[["}
    assert deltas(events)[-1].text.endswith("[[")  # the reconciled tail, before the terminal
