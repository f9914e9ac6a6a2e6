"""Owner side of cross-process follow and cancel: a local Unix socket per open store.

Why a socket and not a file watch (docs/architecture.md has the figures): the owner knows the
moment a commit lands (its writer's commit listener) and which runs it touched, so it pushes
``(run_id, seq)`` to the processes following those runs, one small write each, no debounce,
no wake-up for runs nobody follows. The same connection carries cancel requests, and its EOF
tells a follower that the owner is gone (then the owner's flock says whether it died).

Wire format: JSON lines. Follower -> owner: ``{"op": "watch", "run": ID}``, ``{"op":
"unwatch", "run": ID}``, ``{"op": "cancel", "run": ID, "reason": TEXT}``. Owner -> follower:
``{"op": "watching", "run": ID}`` (from now on every commit of ID is announced),
``{"op": "commit", "run": ID, "seq": N}``, ``{"op": "cancel-error", "run": ID, "error": TEXT}``.
Notices of one connection are coalesced per run (only the highest seq waits to be sent), so a
follower that stops reading costs the owner one entry per followed run, never a growing buffer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import selectors
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["CancelServer", "NoticeServer", "encode", "unix_address"]

_log = logging.getLogger("runwire.store")

_MAX_LINE: Final = 1 << 20  # a follower's request line longer than this closes its connection
_SUN_PATH_MAX: Final = 100  # a little under the 104 (BSD) / 108 (Linux) bytes of sun_path
CancelServer = Callable[[str, str], None]
Reply = Callable[[str], None]  # sends a cancel request's error back to whoever asked


def encode(message: Mapping[str, Any]) -> bytes:
    """One wire line."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


@contextlib.contextmanager
def unix_address(path: Path) -> Iterator[str]:
    """An address for ``bind``/``connect`` of ``path``, also when it is longer than ``sun_path``.

    A long path (deep temp dirs) is reached through ``/proc/self/fd/<dir fd>/<name>`` on Linux.
    """
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    if not sys.platform.startswith("linux"):  # pragma: no cover - Linux is what CI runs
        raise OSError(f"socket path too long for this platform: {path}")
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


class _Conn:
    __slots__ = ("inbox", "out", "pending", "sock", "wants_write", "watching")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.out = bytearray()
        self.pending: dict[str, int] = {}  # run_id -> highest committed seq not yet sent
        self.watching: set[str] = set()
        self.wants_write = False


class NoticeServer(threading.Thread):
    """Listens on ``<db>-owners/<token>.sock``; announces commits; hands cancel requests over.

    ``committed`` runs on the store's writer thread: it only touches the followers of the runs
    it names and sends without blocking (what does not fit waits in the coalesced ``pending``).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(name=f"runwire-store-notices[{path.name}]", daemon=True)
        self.path = path
        self._lock = threading.Lock()
        self._watchers: dict[str, set[_Conn]] = {}
        self._conns: dict[socket.socket, _Conn] = {}
        self._cancels: tuple[CancelServer, ...] = ()
        # reason None: refuse (no system serves cancels) from the cancel thread, after settle
        self._cancel_queue: queue.SimpleQueue[tuple[Reply, str, str | None] | None] = queue.SimpleQueue()
        # commits what is queued before a refusal (set by the store): a run that ended here, its
        # terminal not yet committed (e.g. while its system closes), is then seen ended by the
        # requester, which re-reads the run on a refusal
        self.settle: Callable[[], object] | None = None
        self._cancel_thread: threading.Thread | None = None
        self._closing = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # our token is new: a file of that name is nobody's
            with unix_address(path) as address:
                self._listener.bind(address)
            self._listener.listen(64)
            self._listener.setblocking(False)
        except BaseException:
            self._listener.close()
            self._wake_r.close()
            self._wake_w.close()
            raise
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)

    # -- called by the store -------------------------------------------------------------------
    def committed(self, acks: Mapping[str, int]) -> None:
        """After a commit (writer thread): tell each follower of these runs their new seq."""
        watchers = self._watchers
        if not watchers:
            return
        wake = False
        with self._lock:
            for run_id, seq in acks.items():
                for conn in watchers.get(run_id, ()):
                    conn.pending[run_id] = seq
                    wake |= self._flush(conn)
        if wake:
            self._wake()

    def serve_cancels(self, cancel: CancelServer) -> Callable[[], None]:
        """Call ``cancel(run_id, reason)`` on a cancel thread for every request a follower sends."""
        with self._lock:
            self._cancels = (*self._cancels, cancel)
            if self._cancel_thread is None:
                self._cancel_thread = threading.Thread(
                    target=self._serve_cancels, name=f"runwire-store-cancels[{self.path.name}]", daemon=True
                )
                self._cancel_thread.start()

        def stop() -> None:
            with self._lock:
                self._cancels = tuple(c for c in self._cancels if c is not cancel)

        return stop

    def cancel_here(self, run_id: str, reason: str, reply: Reply) -> None:
        """A cancel request from this very store (another system sharing it in this process)."""
        if self._cancels:
            self._cancel_queue.put((reply, run_id, reason))
        elif self._cancel_thread is not None:  # a system served here: refuse after settling
            self._cancel_queue.put((reply, run_id, None))
        else:
            reply("no RunSystem serves cancel requests on this store")

    def close(self) -> None:
        with self._lock:
            self._closing = True
        self._cancel_queue.put(None)
        self._wake()
        if self.is_alive():
            self.join(5.0)
        else:
            self._shutdown()

    # -- the server thread ---------------------------------------------------------------------
    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"x")

    def run(self) -> None:
        try:
            while not self._closing:
                for key, mask in self._selector.select():
                    sock = key.fileobj
                    if sock is self._listener:
                        self._accept()
                    elif sock is self._wake_r:
                        with contextlib.suppress(BlockingIOError, OSError):
                            self._wake_r.recv(4096)
                    else:
                        conn = self._conns.get(sock)  # type: ignore[call-overload]
                        if conn is None:
                            continue
                        if mask & selectors.EVENT_READ:
                            self._read(conn)
                        if mask & selectors.EVENT_WRITE and conn.sock in self._conns:
                            with self._lock:
                                self._flush(conn)
                self._update_interest()
        except Exception:  # pragma: no cover - a bug here must not pass silently
            _log.exception("the run store's notice server stopped")
        finally:
            self._shutdown()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        conn = _Conn(sock)
        self._conns[sock] = conn
        self._selector.register(sock, selectors.EVENT_READ)

    def _update_interest(self) -> None:
        with self._lock:
            for conn in list(self._conns.values()):
                want = bool(conn.out or conn.pending)
                if want != conn.wants_write:
                    conn.wants_write = want
                    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want else 0)
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.modify(conn.sock, events)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data or len(conn.inbox) + len(data) > _MAX_LINE:
            self._drop(conn)
            return
        conn.inbox += data
        while (end := conn.inbox.find(b"\n")) >= 0:
            line = bytes(conn.inbox[:end])
            del conn.inbox[: end + 1]
            try:
                message = json.loads(line)
                op, run_id = message["op"], str(message["run"])
            except (ValueError, KeyError, TypeError):
                self._drop(conn)
                return
            self._handle(conn, op, run_id, message)

    def _handle(self, conn: _Conn, op: str, run_id: str, message: dict[str, Any]) -> None:
        with self._lock:
            if op == "watch":
                conn.watching.add(run_id)
                self._watchers.setdefault(run_id, set()).add(conn)
                conn.out += encode({"op": "watching", "run": run_id})
                self._flush(conn)
            elif op == "unwatch":
                self._unwatch(conn, run_id)
            elif op == "cancel":
                if self._cancels or self._cancel_thread is not None:  # a system serves, or did: its thread answers
                    reason = str(message.get("reason") or "cancelled") if self._cancels else None
                    self._cancel_queue.put((lambda error: self._reply_later(conn, run_id, error), run_id, reason))
                else:
                    self._reply_error(conn, run_id, "the owning process serves no cancel requests (no RunSystem)")

    def _unwatch(self, conn: _Conn, run_id: str) -> None:
        conn.watching.discard(run_id)
        followers = self._watchers.get(run_id)
        if followers is not None:
            followers.discard(conn)
            if not followers:
                del self._watchers[run_id]

    def _reply_error(self, conn: _Conn, run_id: str, error: str) -> None:
        conn.out += encode({"op": "cancel-error", "run": run_id, "error": error})
        if self._flush(conn):
            self._wake()

    def _reply_later(self, conn: _Conn, run_id: str, error: str) -> None:
        with self._lock:
            if conn.sock in self._conns:
                self._reply_error(conn, run_id, error)

    def _flush(self, conn: _Conn) -> bool:
        """Under the lock: send what is pending without blocking; True if some must wait."""
        while True:
            if not conn.out:
                if not conn.pending:
                    return False
                conn.out += b"".join(encode({"op": "commit", "run": r, "seq": s}) for r, s in conn.pending.items())
                conn.pending.clear()
            try:
                sent = conn.sock.send(conn.out)
            except BlockingIOError:
                return True
            except OSError:  # the follower left: its reader sees to the rest
                conn.out.clear()
                conn.pending.clear()
                return False
            del conn.out[:sent]

    def _drop(self, conn: _Conn) -> None:
        with self._lock:
            for run_id in list(conn.watching):
                self._unwatch(conn, run_id)
            self._conns.pop(conn.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()

    def _shutdown(self) -> None:
        for conn in list(self._conns.values()):
            self._drop(conn)
        for sock in (self._listener, self._wake_r, self._wake_w):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()
        self._selector.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    # -- the cancel thread ---------------------------------------------------------------------
    def _settle(self) -> None:
        settle = self.settle
        if settle is not None:
            try:
                settle()
            except Exception as exc:  # refuse anyway: the requester re-reads the run
                _log.debug("could not commit before refusing a cancel: %s", exc)

    def _serve_cancels(self) -> None:
        while (item := self._cancel_queue.get()) is not None:
            reply, run_id, reason = item
            if reason is None:
                self._settle()
                reply("the owning process serves no cancel requests (no RunSystem)")
                continue
            errors = []
            for cancel in self._cancels:
                try:
                    cancel(run_id, reason)
                except KeyError:  # not this system's run: ask the next one
                    continue
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                break
            else:
                self._settle()
                reply("; ".join(errors) or "no RunSystem of the owning process holds this run")
