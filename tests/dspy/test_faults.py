"""LM faults end runs cleanly: the provider's error on run.failed, cancel closes the HTTP stream."""

from __future__ import annotations

from typing import Any

import dspy
import pytest

from runwire.actors import RunSystem
from runwire.actors.dspy import run_dspy
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.protocol import TERMINAL_TYPES, RunCancelled, RunFailed, TextDelta

from .conftest import MakeLM
from .helpers import deltas, terminal, texts, watch
from .test_stream import SyncQA

WORDS = " ".join(f"word{i}" for i in range(60))


def _failed(system: RunSystem, make_lm: MakeLM, timeout: float = 20) -> tuple[RunFailed, list[Any]]:
    handle = run_dspy(system, dspy.Predict("question -> answer"), lm=make_lm(), question="q")
    events = [s.event for s in watch(handle, timeout)]
    end = terminal(events)
    assert isinstance(end, RunFailed), end
    return end, events


@pytest.mark.parametrize(
    ("status", "error_type", "provider_type"),
    [(500, "LMServerError", "server_error"), (429, "LMRateLimitError", "rate_limit_error")],
)
def test_an_lm_server_error_fails_the_run_with_the_provider_error(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, status: int, error_type: str, provider_type: str
) -> None:
    lm_server.reply_with(Reply(status=status, error_type=provider_type, error_message="upstream is on fire"))
    end, _ = _failed(system, make_lm)
    assert end.error_type == error_type
    assert "upstream is on fire" in end.message


def test_an_error_frame_mid_stream_fails_the_run_after_the_text_so_far(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), error_after=12, error_message="overloaded mid-stream"))
    end, events = _failed(system, make_lm)
    assert end.error_type == "LMServerError"
    assert "overloaded mid-stream" in end.message
    streamed = texts(events).get("answer", "")
    assert streamed and WORDS.startswith(streamed)  # what arrived before the error was delivered, in order


def test_a_stream_cut_without_a_finish_fails_clearly(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), cut_after=10))
    end, _ = _failed(system, make_lm)
    assert end.error_type == "LMStreamAssemblyError"
    assert "ended without a completion" in end.message


def test_a_malformed_chunk_fails_clearly_not_a_hang(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), malformed_after=8))
    end, _ = _failed(system, make_lm, timeout=10)
    assert end.error_type == "LMUnexpectedError"
    assert "delimiter" in end.message  # the JSON decoder's own words about the broken chunk


def _cancel_after_first_delta(handle: Any) -> list[Any]:
    """Consume until the first delta, cancel, then read the rest of the log (replay + tail)."""
    stream = iter(handle.events(timeout=20))
    before = []
    for event in stream:
        before.append(event)
        if isinstance(event, TextDelta):
            break
    cancelled = handle.cancel("user stop", timeout=10)
    assert isinstance(cancelled, RunCancelled)
    rest = list(stream)
    return before + rest


@pytest.mark.parametrize("program", [dspy.Predict("question -> answer"), SyncQA()], ids=["async", "sync"])
def test_cancel_mid_stream_no_delta_after_cancelled_and_http_closed(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, program: Any
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), delay=0.02))
    handle = run_dspy(system, program, lm=make_lm(), question="q")
    events = _cancel_after_first_delta(handle)
    types = [e.type for e in events]
    assert types[-1] == "run.cancelled"
    assert [t for t in types if t in TERMINAL_TYPES] == ["run.cancelled"]
    assert lm_server.aborted.wait(10)  # the scripted server saw the client go away mid-stream
    assert lm_server.outcomes == ["client-aborted"]
    assert not handle.info().worker_abandoned


def test_cancel_while_the_lm_hangs_closes_the_http_stream(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), hang_after=6))
    handle = run_dspy(system, dspy.Predict("question -> answer"), lm=make_lm(), question="q")
    assert lm_server.started.wait(10)
    events = _cancel_after_first_delta(handle)
    assert events[-1].type == "run.cancelled"
    assert lm_server.aborted.wait(5)  # the hanging stream noticed the disconnect: not left open
    assert lm_server.outcomes == ["hang-aborted"]
    assert deltas(events)  # the text before the hang was delivered
    assert not handle.info().worker_abandoned


def test_cancel_a_sync_program_while_the_lm_hangs_ends_the_run_at_once(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM
) -> None:
    """A sync program blocks in DSPy's worker thread: the run ends at once, the socket at the next chunk.

    DSPy abandons that thread on cancel; its HTTP read only returns when the server sends or
    closes (here: when the scripted server stops). Async programs close at once (above).
    """
    lm_server.reply_with(Reply(chat_reply(answer=WORDS), hang_after=6))
    handle = run_dspy(system, SyncQA(), lm=make_lm(), question="q")
    events = _cancel_after_first_delta(handle)
    assert events[-1].type == "run.cancelled"
    assert not handle.info().worker_abandoned
