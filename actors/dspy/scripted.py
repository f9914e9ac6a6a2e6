"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for offline runs and tests.

Why it exists: DSPy's streaming path (streamify -> LM engine -> HTTP/SSE) can only be exercised
for real against a server. This one speaks just enough of ``POST /v1/chat/completions`` (plain
JSON and SSE streams) and is driven by :class:`Reply` scripts: exact chunking, pacing, a
``finish_reason``, HTTP errors, mid-stream errors, malformed chunks and hangs. It records every
request body and how every stream ended (``complete`` / ``client-aborted`` / ``hang-aborted`` /
``error-sent`` / ``cut``) and the most requests answered at once
(``max_in_flight``), and sets :attr:`ScriptedServer.aborted` when a client disconnects, so
tests wait on events, never on sleeps. Standard library only.
"""

from __future__ import annotations

import itertools
import json
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedServer", "chat_reply", "split_tokens"]

_TOKEN_RE = re.compile(r"\S+\s*|\s+")


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens (each word with its trailing whitespace), the default chunking."""
    return _TOKEN_RE.findall(text)


def chat_reply(completed: bool = True, **fields: str) -> str:
    """A reply in DSPy's ChatAdapter shape: ``[[ ## name ## ]]`` sections, then the end marker."""
    body = "\n\n".join(f"[[ ## {name} ## ]]\n{value}" for name, value in fields.items())
    return body + ("\n\n[[ ## completed ## ]]" if completed else "")


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request.

    ``text`` is split with :func:`split_tokens` unless ``chunks`` gives the exact pieces.
    ``status`` != 200 answers with an OpenAI error body (``error_type``, ``error_message``) and no
    stream. For streams: ``delay`` seconds between chunks (``first_delay`` before the first),
    then one of: ``error_after`` chunks -> an SSE ``{"error": ...}`` frame; ``cut_after`` chunks ->
    the connection is closed without a finish; ``malformed_after`` chunks -> a chunk that is not
    JSON; ``hang_after`` chunks -> nothing more until the client goes away. ``burst`` writes the
    whole stream at once (as fast as a server can; for benchmarks).
    """

    text: str = ""
    chunks: tuple[str, ...] | None = None
    finish_reason: str | None = "stop"
    delay: float = 0.0
    first_delay: float = 0.0
    status: int = 200
    error_type: str = "server_error"
    error_message: str = "scripted failure"
    error_after: int | None = None
    cut_after: int | None = None
    malformed_after: int | None = None
    hang_after: int | None = None
    burst: bool = False

    def pieces(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_tokens(self.text)


Script = Callable[[dict[str, Any]], Reply]


@dataclass
class _State:
    replies: deque[Reply | Script] = field(default_factory=deque)
    default: Reply | Script | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    sent: list[tuple[float, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.idle = threading.Condition(self.lock)


class ScriptedServer:
    """``with ScriptedServer(reply) as lm_server:`` serves on ``lm_server.base_url`` until the block ends.

    ``default`` answers every request (a :class:`Reply`, or a function of the request body);
    :meth:`push` queues one-shot replies that are used first, in order.
    """

    def __init__(self, default: Reply | Script | None = None) -> None:
        self._state = _State(default=default)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self.started = threading.Event()  # set when a stream has sent its first chunk
        self.hanging = threading.Event()  # set when a stream reached its scripted hang
        self.aborted = threading.Event()  # set when a client went away before the stream ended
        self.finished = threading.Event()  # set when any request has been fully handled
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._serve, name="scripted-lm", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.01)  # how soon close() returns

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; a hanging stream is released and its connection closed."""
        self._stop.set()
        self._wake_w.send(b"x")
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._wake_r.close()
        self._wake_w.close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL: pass it as ``api_base`` / ``--lm-base-url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ------------------------------------------------------------------------------
    def reply_with(self, default: Reply | Script) -> None:
        """Answer every later request with ``default`` (after any queued one-shot replies)."""
        with self._state.lock:
            self._state.default = default

    def push(self, *replies: Reply | Script) -> None:
        """Queue replies for the next requests, in order (before the default)."""
        with self._state.lock:
            self._state.replies.extend(replies)

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def outcomes(self) -> list[str]:
        with self._state.lock:
            return list(self._state.outcomes)

    @property
    def sent(self) -> list[tuple[float, str]]:
        """Every content chunk written, with when (``time.perf_counter()``, after the write)."""
        with self._state.lock:
            return list(self._state.sent)

    @property
    def max_in_flight(self) -> int:
        """The most requests that were being answered at the same time."""
        with self._state.lock:
            return self._state.max_in_flight

    def _enter(self) -> None:
        with self._state.lock:
            self._state.in_flight += 1
            self._state.max_in_flight = max(self._state.max_in_flight, self._state.in_flight)

    def _leave(self) -> None:
        with self._state.lock:
            self._state.in_flight -= 1
            self._state.idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request is being answered (every stream has ended); False on timeout."""
        with self._state.lock:
            return self._state.idle.wait_for(lambda: self._state.in_flight == 0, timeout)

    def _sent(self, piece: str) -> None:
        now = time.perf_counter()
        with self._state.lock:
            self._state.sent.append((now, piece))

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._state.lock:
            self._state.requests.append(body)
            script = self._state.replies.popleft() if self._state.replies else self._state.default
        if script is None:
            return Reply(status=500, error_message="no scripted reply left")
        return script if isinstance(script, Reply) else script(body)

    def _record(self, outcome: str) -> None:
        with self._state.lock:
            self._state.outcomes.append(outcome)
        if outcome.endswith("aborted"):
            self.aborted.set()
        self.finished.set()

    def _pause(self, seconds: float) -> bool:
        """Pacing between chunks; False once the server is stopping."""
        return not (seconds > 0 and self._stop.wait(seconds)) and not self._stop.is_set()

    def _wait_gone(self, sock: socket.socket) -> bool:
        """Block until the client closes ``sock`` (True) or the server stops (False)."""
        while True:
            ready, _, _ = select.select([sock, self._wake_r], [], [])
            if self._wake_r in ready or self._stop.is_set():
                return False
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except OSError:
                return True
            sock.recv(65536)  # request bytes we do not care about; keep waiting


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ScriptedServer


_ids = itertools.count(1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        owner = self.server.owner
        owner._enter()
        try:
            self._answer(owner)
        finally:
            owner._leave()

    def _answer(self, owner: ScriptedServer) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        reply = owner._next(body)
        if reply.status != 200:
            error = {"error": {"message": reply.error_message, "type": reply.error_type, "code": reply.error_type}}
            self._send_json(reply.status, error)
            owner._record("http-error")
            return
        if body.get("stream"):
            self._stream(owner, body, reply)
        else:
            self._complete(owner, body, reply)

    def _base(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-{next(_ids)}", "object": kind, "created": int(time.time()), "model": body["model"]}

    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _complete(self, owner: ScriptedServer, body: dict[str, Any], reply: Reply) -> None:
        pieces = reply.pieces()
        message = {"role": "assistant", "content": "".join(pieces)}
        choice = {"index": 0, "message": message, "finish_reason": reply.finish_reason}
        usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
        self._send_json(200, {**self._base(body, "chat.completion"), "choices": [choice], "usage": usage})
        owner._record("complete")

    def _stream(self, owner: ScriptedServer, body: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        base = self._base(body, "chat.completion.chunk")
        try:
            self._burst = [] if reply.burst else None
            outcome = self._frames(owner, body, reply, base)
            if self._burst is not None:
                burst, self._burst = self._burst, None
                self._send(b"".join(burst))
        except (BrokenPipeError, ConnectionResetError):
            outcome = "client-aborted"
        owner._record(outcome)

    _burst: list[bytes] | None = None

    def _send(self, data: bytes) -> None:
        if self._burst is not None:
            self._burst.append(data)
            return
        self.wfile.write(data)
        self.wfile.flush()

    def _chunk(self, base: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        self._send(b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n")

    def _frames(self, owner: ScriptedServer, body: dict[str, Any], reply: Reply, base: dict[str, Any]) -> str:
        pieces = reply.pieces()
        self._chunk(base, {"role": "assistant", "content": ""})
        if not owner._pause(reply.first_delay):
            return "stopped"
        for index, piece in enumerate(pieces):
            special = self._special(owner, reply, base, index)
            if special is not None:
                return special
            if index and not owner._pause(reply.delay):
                return "stopped"
            self._chunk(base, {"content": piece})
            owner._sent(piece)
            owner.started.set()
        special = self._special(owner, reply, base, len(pieces))
        if special is not None:
            return special
        self._chunk(base, {}, reply.finish_reason)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
            self._send(b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n")
        self._send(b"data: [DONE]\n\n")
        return "complete"

    def _special(self, owner: ScriptedServer, reply: Reply, base: dict[str, Any], sent: int) -> str | None:
        """The scripted fault that is due after ``sent`` chunks, if any; its outcome name."""
        if reply.error_after == sent:
            error = {"message": reply.error_message, "type": reply.error_type, "code": reply.error_type}
            self._send(b"data: " + json.dumps({"error": error}).encode() + b"\n\n")
            return "error-sent"
        if reply.cut_after == sent:
            return "cut"
        if reply.malformed_after == sent:
            self._send(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
            return "malformed-sent"
        if reply.hang_after == sent:
            owner.started.set()
            owner.hanging.set()
            return "hang-aborted" if owner._wait_gone(self.connection) else "stopped"
        return None
