"""Subscribers see each field's whole text exactly once, even where DSPy's listeners miss some.

Each case is one way a ``StreamListener`` loses text, taken from DSPy 3.4.1's behaviour on the
real streaming path; the integration reconciles against the parsed value and emits the rest.
"""

from __future__ import annotations

import json
from typing import Any

import dspy
from dspy.streaming import StreamListener

from runwire.actors import RunSystem
from runwire.actors.dspy import run_dspy
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.protocol import RunCompleted, RunFailed, RunMilestone

from .conftest import MakeLM
from .helpers import deltas, terminal, texts, watch


def _run(system: RunSystem, program: Any, lm: Any, **options: Any) -> list[Any]:
    return [s.event for s in watch(run_dspy(system, program, lm=lm, **options))]


def _reconciled(events: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for event in events:
        if isinstance(event, RunMilestone) and event.name == "predict_finished":
            for key, added in event.data["reconciled"].items():
                out[key] = out.get(key, 0) + added
    return out


def test_end_marker_omitted_the_buffered_tail_is_emitted_once(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    # no "[[ ## completed ## ]]": the listener still holds "[" tokens that might start a marker
    lm_server.reply_with(Reply(chunks=("[[ ## answer ## ]]\n", "Index", " with", " a", "[", "[")))
    events = _run(system, dspy.Predict("question -> answer"), make_lm(), question="q")
    assert terminal(events).result == {"answer": "Index with a[["}  # type: ignore[union-attr]
    assert texts(events) == {"answer": "Index with a[["}
    assert _reconciled(events) == {"answer": 2}


def test_text_the_listener_drops_mid_stream_is_restored_in_order(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    # DSPy's listener cuts a buffered "[[" and what follows it out of the stream
    answer = "Use x[[i]] to index, then y[[j]] again."
    lm_server.reply_with(Reply(chat_reply(answer=answer)))
    events = _run(system, dspy.Predict("question -> answer"), make_lm(), question="q")
    assert texts(events) == {"answer": answer}
    assert deltas(events)[0].text == "Use"  # streaming started before the listener lost its place
    assert _reconciled(events)["answer"] > 0


def test_cache_hit_streams_the_whole_text_as_one_delta(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer="Cached words arrive at once.")))
    lm = make_lm(cache=True)
    program = dspy.Predict("question -> answer")
    first = _run(system, program, lm, question="cache-hit test question")
    second = _run(system, program, lm, question="cache-hit test question")
    assert len(lm_server.requests) == 1  # the second run was served from DSPy's cache
    assert len(deltas(first)) > 1
    assert [d.text for d in deltas(second)] == ["Cached words arrive at once."]
    assert texts(second) == texts(first)
    assert _reconciled(second) == {"answer": len("Cached words arrive at once.")}


def test_json_adapter_chunks_are_decoded_to_the_field_text(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    answer, note = 'line1\nsay "hi" \\ done', "x é 😀"
    reply = json.dumps({"answer": answer, "note": note})
    lm_server.reply_with(Reply(chunks=tuple(reply[i : i + 3] for i in range(0, len(reply), 3))))
    program = dspy.Predict("question -> answer, note")
    events = _run(system, program, make_lm(), adapter=dspy.JSONAdapter(), batch_window=0, question="q")
    assert terminal(events).result == {"answer": answer, "note": note}  # type: ignore[union-attr]
    assert texts(events) == {"answer": answer, "note": note}
    assert len([d for d in deltas(events) if d.field == "answer"]) > 3  # streamed chunk by chunk
    assert _reconciled(events) == {"answer": 0, "note": 0}  # decoded exactly, nothing left to add


def test_json_adapter_fallback_after_a_cache_hit_still_delivers_the_text(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    """ChatAdapter falls back to JSON only when nothing streamed yet: a cached unparsable reply.

    The fallback's JSON chunks do not carry the ChatAdapter markers the listener waits for, so
    the whole answer comes from reconciliation.
    """

    def script(body: dict[str, Any]) -> Reply:
        if "[[ ## completed ## ]]" in body["messages"][0]["content"]:
            return Reply("I will not use your format.")
        return Reply(json.dumps({"answer": 'From JSON "quoted"\nline'}))

    lm_server.reply_with(script)
    lm = make_lm(cache=True)
    program = dspy.Predict("question -> answer")
    first = _run(system, program, lm, question="fallback test question")
    assert isinstance(terminal(first), RunFailed)  # streamed and unparsable: DSPy never falls back then
    second = _run(system, program, lm, question="fallback test question")
    assert len(lm_server.requests) == 2  # the cached ChatAdapter reply, then one JSON request
    assert "json" in lm_server.requests[1]["messages"][0]["content"].lower()
    assert isinstance(terminal(second), RunCompleted)
    assert texts(second) == {"answer": 'From JSON "quoted"\nline'}


def test_two_output_fields_stream_separately_and_in_order(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    reasoning, answer = "The sky scatters blue light more.", "Because of Rayleigh scattering."
    lm_server.reply_with(Reply(chat_reply(reasoning=reasoning, answer=answer)))
    events = _run(system, dspy.ChainOfThought("question -> answer"), make_lm(), question="q")
    assert texts(events) == {"reasoning": reasoning, "answer": answer}
    fields = [d.field for d in deltas(events)]
    assert fields == sorted(fields, key=lambda f: f == "answer")  # all reasoning first, then the answer
    assert terminal(events).result == {"reasoning": reasoning, "answer": answer}  # type: ignore[union-attr]


class DraftPolish(dspy.Module):  # type: ignore[misc]
    """Two predictors, the second reading the first's output; both output a field named ``text``."""

    def __init__(self) -> None:
        super().__init__()
        self.draft = dspy.Predict("topic -> text")
        self.polish = dspy.Predict("draft -> text")

    async def aforward(self, topic: str) -> Any:
        draft = await self.draft.acall(topic=topic)
        return await self.polish.acall(draft=draft.text)


def _draft_polish_script(body: dict[str, Any]) -> Reply:
    if "[[ ## topic ## ]]" in body["messages"][-1]["content"]:
        return Reply(chat_reply(text="a rough first draft"))
    return Reply(chat_reply(text="A polished final text."))


def test_two_predictors_stream_under_their_own_names(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(_draft_polish_script)
    events = _run(system, DraftPolish(), make_lm(), topic="skies")
    assert texts(events) == {"draft.text": "a rough first draft", "polish.text": "A polished final text."}
    names = [e.data["predictor"] for e in events if isinstance(e, RunMilestone)]
    assert names == ["draft", "polish"]
    assert terminal(events).result == {"text": "A polished final text."}  # type: ignore[union-attr]


def test_explicit_listeners_pick_one_predictor(system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM) -> None:
    lm_server.reply_with(_draft_polish_script)
    program = DraftPolish()
    listener = StreamListener("text", predict=program.polish, predict_name="polish")
    events = _run(system, program, make_lm(), listeners=[listener], topic="skies")
    assert texts(events) == {"text": "A polished final text."}


def test_a_predictor_called_twice_streams_both_calls(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    class Twice(dspy.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.say = dspy.Predict("topic -> line")

        async def aforward(self, topic: str) -> Any:
            await self.say.acall(topic=topic + " one")
            return await self.say.acall(topic=topic + " two")

    lm_server.reply_with(
        lambda body: Reply(chat_reply(line="First line." if " one" in body["messages"][-1]["content"] else "Second."))
    )
    lm = make_lm(cache=True)
    events = _run(system, Twice(), lm, topic="t")
    assert texts(events) == {"line": "First line.Second."}  # each call's whole text, in order
    assert len([e for e in events if isinstance(e, RunMilestone)]) == 2
    again = _run(system, Twice(), lm, topic="t")  # both calls cache hits: one delta each
    assert [d.text for d in deltas(again)] == ["First line.", "Second."]
