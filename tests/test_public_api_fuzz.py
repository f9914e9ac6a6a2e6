"""Subscribers cannot harm a run (4): the public API driven with arbitrary arguments (hypothesis).

``start``, the emit helpers and ``events(after_seq, buffer, policy)`` get any value: valid,
invalid, and values JSON cannot carry (lone surrogates, NaN/inf, bytes, objects). Whatever is
passed: a bad argument is refused at the call with a ``ValueError``/``TypeError`` (pydantic's
``ValidationError`` is a ``ValueError``), every run that starts has exactly one terminal, what a
lossless subscriber got live is the replay byte for byte, and no other exception escapes (a
``disconnect`` subscriber may get its documented ``SubscriberTooSlowError``).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem, SubscriberTooSlowError
from runwire.protocol import dump_event

from .helpers import assert_well_formed, collect

_surrogates = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3)
_texts = st.text(max_size=12) | st.builds(lambda a, b: a + b, st.text(max_size=4), _surrogates)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN, inf included
    | _texts
    | st.binary(max_size=4)
    | st.just(object())
)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_texts, children, max_size=3),
    max_leaves=6,
)
_objects = st.dictionaries(_texts, _values, max_size=3) | _values

_actions = st.lists(
    st.one_of(
        st.tuples(st.just("log"), _values, st.sampled_from(["info", "debug", "nope"]) | _values),
        st.tuples(st.just("delta"), _texts | _values, _texts | _values, st.none() | _texts),
        st.tuples(st.just("progress"), _values, _values),
        st.tuples(st.just("milestone"), _texts | _values, _objects),
        st.tuples(st.just("artifact"), _texts | _values, st.none() | _texts | _values),
        st.tuples(st.just("partial"), _texts | _values, _texts | _values),
    ),
    max_size=12,
)
_cursors = st.integers(min_value=-2, max_value=30) | st.floats() | st.booleans() | st.none() | st.text(max_size=2)
_buffers = st.none() | st.integers(min_value=-1, max_value=40) | st.floats() | st.booleans() | st.text(max_size=2)
_policies = st.sampled_from(["block", "coalesce", "disconnect"]) | _values
_subscribers = st.lists(st.tuples(_cursors, _buffers, _policies), max_size=3)
_ending = st.one_of(st.tuples(st.just("return"), _objects), st.tuples(st.just("raise"), _values))


def _act(ctx: RunContext, action: tuple[Any, ...]) -> None:
    kind, a, b = action[0], action[1], action[2]
    if kind == "log":
        ctx.log(a, b)
    elif kind == "delta":
        ctx.delta(a, b, action[3])
    elif kind == "progress":
        ctx.progress(a, message=b)
    elif kind == "milestone":
        ctx.milestone(a, **b) if isinstance(b, dict) and all(type(k) is str for k in b) else ctx.milestone(a, x=b)
    elif kind == "artifact":
        ctx.artifact(a, content=b)
    else:
        ctx.artifact_partial(a, b)


@settings(max_examples=150)
@given(
    inputs=_objects,
    name=st.none() | _texts | _values,
    actions=_actions,
    ending=_ending,
    subscribers=_subscribers,
)
def test_the_public_api_under_arbitrary_arguments_keeps_every_guarantee(
    system: RunSystem,
    inputs: Any,
    name: Any,
    actions: list[tuple[Any, ...]],
    ending: tuple[str, Any],
    subscribers: list[tuple[Any, Any, Any]],
) -> None:
    escaped: list[BaseException] = []  # anything but the documented errors, inside the pipeline
    gate = threading.Event()

    def pipeline(ctx: RunContext) -> Any:
        gate.wait(10)
        for action in actions:
            try:
                _act(ctx, action)
            except (ValueError, TypeError):
                pass  # refused at the call: documented
            except BaseException as exc:
                escaped.append(exc)
                raise
        if ending[0] == "raise":
            raise RuntimeError(ending[1])
        return ending[1]

    try:
        handle = system.start(pipeline, inputs, name=name, run_id=uuid.uuid4().hex)
    except (ValueError, TypeError):
        handle = system.start(pipeline, run_id=uuid.uuid4().hex)  # refused: the system goes on

    streams: list[tuple[int, str, int | None, Any]] = []
    for after_seq, buffer, policy in subscribers:
        try:
            stream = handle.events(after_seq, buffer=buffer, policy=policy, timeout=10)
        except (ValueError, TypeError):
            continue  # refused at the call: nothing reached the bus
        streams.append((after_seq, policy, buffer, iter(stream)))

    results: list[Any] = [None] * len(streams)

    def read(i: int) -> None:
        try:
            results[i] = list(streams[i][3])
        except SubscriberTooSlowError as exc:
            results[i] = exc if streams[i][1] == "disconnect" else AssertionError(exc)
        except BaseException as exc:
            results[i] = AssertionError(f"escaped from a subscriber: {exc!r}")

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(30)
    handle.wait(10)
    replay = collect(handle)
    assert_well_formed(replay)  # one terminal, last, gapless
    assert not escaped, escaped
    for (after_seq, policy, buffer, _), got in zip(streams, results, strict=True):
        assert not isinstance(got, AssertionError), got
        if isinstance(got, SubscriberTooSlowError):
            continue
        expected = [dump_event(e) for e in replay if e.seq > after_seq]
        live = [dump_event(e) for e in got]
        if policy == "block" or buffer is None:
            assert live == expected  # lossless: byte for byte
        else:  # coalesce may merge and drop deltas (declared); everything else is delivered as logged
            kept = [dump_event(e) for e in got if e.type not in ("text.delta", "stream.gap")]
            assert kept == [
                dump_event(e) for e in replay if e.seq > after_seq and e.type not in ("text.delta", "stream.gap")
            ]
            assert live[-1:] == expected[-1:]
