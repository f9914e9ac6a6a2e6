"""Any DSPy program as a run: chunks -> text.delta, Prediction -> result, status -> run.log, finish_reason."""

from __future__ import annotations

import re
import threading
from typing import Any

import dspy
import pytest
from dspy.streaming import StatusMessageProvider

from runwire.actors import RunSystem
from runwire.actors.dspy import dspy_pipeline, run_dspy
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.protocol import RunCompleted, RunFailed, RunLog, RunMilestone, TextDelta

from .conftest import MakeLM
from .helpers import deltas, terminal, texts, watch

ANSWER = "Rayleigh scattering makes the sky blue."


class SyncQA(dspy.Module):  # type: ignore[misc]
    """A custom module with ``forward`` only: DSPy runs it in its worker thread."""

    def __init__(self) -> None:
        super().__init__()
        self.qa = dspy.Predict("question -> answer")

    def forward(self, question: str) -> Any:
        return self.qa(question=question)


@pytest.mark.parametrize("program", [dspy.Predict("question -> answer"), SyncQA()], ids=["async", "sync"])
def test_chunks_stream_as_deltas_and_the_prediction_is_the_result(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, program: Any
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=ANSWER), delay=0.01))
    seen = watch(run_dspy(system, program, lm=make_lm(), question="why is the sky blue?"))
    events = [s.event for s in seen]
    end = terminal(events)
    assert isinstance(end, RunCompleted)
    assert end.result == {"answer": ANSWER}
    assert end.finish_reason == "stop"
    assert texts(events) == {"answer": ANSWER}
    assert [d.text for d in deltas(events)][:3] == ["Rayleigh", " scattering", " makes"]  # token by token
    milestone = next(e for e in events if isinstance(e, RunMilestone))
    assert milestone.name == "predict_finished"
    assert milestone.data["reconciled"] == {"answer": 0}  # nothing was missed
    assert lm_server.outcomes == ["complete"]
    assert lm_server.requests[0]["stream"] is True


def test_the_pipeline_factory_reads_the_program_inputs_from_the_run(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(lambda body: Reply(chat_reply(answer=body["messages"][-1]["content"].split("\n")[1])))
    pipeline = dspy_pipeline(dspy.Predict("question -> answer"), lm=make_lm(), artifact_id="answers")
    handle = system.start(pipeline, {"question": "echo me"}, name="qa")
    events = [s.event for s in watch(handle)]
    assert handle.pipeline == "qa"
    assert texts(events) == {"answer@answers": "echo me"}
    assert all(d.artifact_id == "answers" for d in deltas(events))
    assert terminal(events).result == {"answer": "echo me"}  # type: ignore[union-attr]


def test_inputs_that_clash_with_an_option_name_go_in_inputs(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer="named")))
    program = dspy.Predict("name -> answer")
    events = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), inputs={"name": "x"}, name="clash"))]
    assert terminal(events).result == {"answer": "named"}  # type: ignore[union-attr]
    assert "[[ ## name ## ]]\nx" in lm_server.requests[0]["messages"][-1]["content"]


def test_status_messages_become_run_logs(system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM) -> None:
    class Status(StatusMessageProvider):  # type: ignore[misc]
        def lm_start_status_message(self, instance: Any, inputs: dict[str, Any]) -> str:
            return f"calling {instance.model}"

    lm_server.reply_with(Reply(chat_reply(answer=ANSWER)))
    program = SyncQA()
    events = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), status=Status(), question="q"))]
    logs = [e for e in events if isinstance(e, RunLog)]
    assert [log.message for log in logs] == ["calling openai/test-model"]
    first_delta = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert events.index(logs[0]) < first_delta  # in stream order: the LM call starts, then its tokens


def test_length_finish_reason_is_on_the_terminal_and_never_ends_the_run(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(completed=False, answer="Trunc"), finish_reason="length"))
    events = [s.event for s in watch(run_dspy(system, dspy.Predict("question -> answer"), lm=make_lm(), question="q"))]
    end = terminal(events)
    assert isinstance(end, RunCompleted)  # the program finished: the finish_reason is recorded, not acted on
    assert end.finish_reason == "length"
    assert texts(events) == {"answer": "Trunc"}


def test_a_truncated_reply_that_cannot_be_parsed_fails_with_its_finish_reason(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(completed=False, answer="Trunc"), finish_reason="length"))
    program = dspy.Predict("question -> answer, extra")
    events = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), question="q"))]
    end = terminal(events)
    assert isinstance(end, RunFailed)
    assert end.error_type == "AdapterParseError"
    assert end.finish_reason == "length"


def test_a_program_that_returns_a_plain_value_completes(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    class Plain(dspy.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.qa = dspy.Predict("question -> answer")

        async def aforward(self, question: str) -> dict[str, Any]:
            prediction = await self.qa.acall(question=question)
            return {"answer": prediction.answer, "words": len(prediction.answer.split())}

    lm_server.reply_with(Reply(chat_reply(answer=ANSWER)))
    events = [s.event for s in watch(run_dspy(system, Plain(), lm=make_lm(), question="q"), timeout=10)]
    assert terminal(events).result == {"answer": ANSWER, "words": 6}  # type: ignore[union-attr]
    assert texts(events) == {"answer": ANSWER}


def test_an_unknown_listener_field_fails_the_run_with_a_clear_message(system: RunSystem, make_lm: MakeLM) -> None:
    program = dspy.Predict("question -> answer")
    events = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), listeners=["anwser"], question="q"))]
    end = terminal(events)
    assert isinstance(end, RunFailed)
    assert end.error_type == "ValueError"
    assert end.message == "no predictor of the program outputs 'anwser'; output fields: answer"


def test_concurrent_runs_each_get_only_their_own_tokens(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    def echo(body: dict[str, Any]) -> Reply:
        number = re.search(r"question number (\d+)", body["messages"][-1]["content"])
        assert number is not None
        words = " ".join(f"run{number.group(1)}-word{i}" for i in range(12))
        return Reply(chat_reply(answer=words), delay=0.001)

    lm_server.reply_with(echo)
    lm = make_lm()
    handles = [
        run_dspy(system, dspy.Predict("question -> answer"), lm=lm, question=f"question number {n}") for n in range(12)
    ]
    results: dict[int, list[Any]] = {}

    def consume(n: int) -> None:
        results[n] = [s.event for s in watch(handles[n])]

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(len(handles))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for n, events in results.items():
        expected = " ".join(f"run{n}-word{i}" for i in range(12))
        assert texts(events) == {"answer": expected}
        assert terminal(events).result == {"answer": expected}  # type: ignore[union-attr]
    assert len(results) == 12


def test_litellm_engine_streams_through_the_same_path(system: RunSystem, lm_server: ScriptedServer) -> None:
    """The compatibility engine (litellm) instead of DSPy's native one: same events (slow: imports litellm)."""
    from .conftest import lm_for

    lm_server.reply_with(Reply(chat_reply(answer=ANSWER)))
    lm = lm_for(lm_server, engine="litellm")
    events = [s.event for s in watch(run_dspy(system, dspy.Predict("question -> answer"), lm=lm, question="q"), 60)]
    end = terminal(events)
    assert isinstance(end, RunCompleted)
    assert texts(events) == {"answer": ANSWER}
    assert end.finish_reason == "stop"
    assert len(deltas(events)) > 1


def test_a_burst_of_chunks_is_merged_into_fewer_deltas_without_losing_text(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    words = " ".join(f"w{i}" for i in range(300))
    lm_server.reply_with(Reply(chat_reply(answer=words)))  # as fast as the server can write
    program = dspy.Predict("question -> answer")
    merged = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), question="q", batch_window=0.05))]
    one_each = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), question="q", batch_window=0))]
    assert texts(merged) == texts(one_each) == {"answer": words}
    assert len(deltas(one_each)) == 300  # one delta per DSPy chunk
    assert len(deltas(merged)) < 100
    assert deltas(merged)[0].text == "w0"  # the first chunk is never held


@pytest.mark.parametrize(
    ("option", "value", "error", "message"),
    [
        ("batch_window", -0.001, ValueError, "batch_window must be a finite number of seconds >= 0, got -0.001"),
        ("batch_window", "2ms", TypeError, "batch_window must be a number of seconds, got str"),
        ("batch_window_max", float("inf"), ValueError, "batch_window_max must be a finite number of seconds >= 0"),
        ("batch_window_max", True, TypeError, "batch_window_max must be a number of seconds, got bool"),
    ],
)
def test_a_bad_batch_window_is_refused_at_the_call_in_one_line(
    system: RunSystem, option: str, value: Any, error: type[Exception], message: str
) -> None:
    program = dspy.Predict("question -> answer")
    with pytest.raises(error, match=re.escape(message)) as caught:
        run_dspy(system, program, question="q", **{option: value})
    assert "\n" not in str(caught.value)
    with pytest.raises(error, match=re.escape(message)):
        dspy_pipeline(program, **{option: value})
    assert not system.runs()  # refused before any run started


def test_no_listeners_stream_nothing_and_the_run_still_completes(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=ANSWER)))
    program = dspy.Predict("question -> answer")
    events = [s.event for s in watch(run_dspy(system, program, lm=make_lm(), listeners=[], question="q"))]
    assert not deltas(events)
    assert terminal(events).result == {"answer": ANSWER}  # type: ignore[union-attr]
