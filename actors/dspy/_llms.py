"""The LM mode of the llms.txt job: ``lm_pipeline(model)``, for ``runwire run llms-txt --lm MODEL``.

Why it is an async pipeline around a thread: the generator is sync (file I/O, git), so it runs
on a thread of its own; each LM call it makes through the describer runs as a task on the run's
event loop, where DSPy streams, up to ``concurrency`` at once (the describer reads files ahead
and hands the descriptions back in order). A cancel cancels the pipeline's task; that cancels the LM tasks
in flight (its HTTP stream is closed at once, even if the LM hangs) and the generator stops at
its next step, removing what it had started to write. The thread is not from a shared pool:
DSPy itself uses the loop's default executor, which a long generator must not occupy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import dspy  # type: ignore[import-untyped]
from pydantic import JsonValue

from runwire.actors import Cancelled, RunContext
from runwire.actors.llms_txt import pipeline_with

from ._config import LOCAL_KEY, LMConfigError, check_lm_config
from ._describer import DEFAULT_CONCURRENCY, DEFAULT_FILE_CHARS, LMDescriber

__all__ = ["lm_pipeline", "make_lm"]

T = TypeVar("T")


def make_lm(model: str, base_url: str | None = None, *, cache: bool = True, **kwargs: Any) -> Any:
    """A ``dspy.LM`` for any litellm model string; the key comes from the provider's usual env variable.

    ``base_url`` points it at another OpenAI-compatible server (``api_base``; without a key in the
    environment it gets a placeholder, which local servers ignore). An unknown model or a missing
    key raises :class:`LMConfigError` now, naming the variable to set, before any work starts.
    """
    if not isinstance(model, str) or not model.strip():
        raise LMConfigError("the LM model must be a model string such as 'openai/gpt-4o-mini'")
    if base_url is not None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise LMConfigError(
                f"the LM base URL must be an http(s) URL such as http://127.0.0.1:8000/v1: {base_url!r}"
            )
        kwargs["api_base"] = base_url
    lm = dspy.LM(model, cache=cache, **kwargs)
    check_lm_config(lm, base_url=base_url)
    if base_url is not None and not lm.kwargs.get("api_key") and not _has_key(lm):
        lm = dspy.LM(model, cache=cache, api_key=LOCAL_KEY, **kwargs)
    return lm


def _has_key(lm: Any) -> bool:
    from dspy.clients.backend_selection import select_backend  # type: ignore[import-untyped]

    resolution = select_backend(lm).resolution
    env_key = getattr(resolution, "env_key", None)
    return resolution is None or not env_key or bool(os.environ.get(env_key))


class _LoopBridge:
    """Runs coroutines on the run's loop for the generator's thread, and cancels them on a run cancel."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._closed = False

    def submit(self, make: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """From the thread: start ``make()`` on the loop; ``Cancelled`` once the run is cancelled."""

        async def run() -> T:
            return await make()

        with self._lock:
            if self._closed:
                raise Cancelled
            future = asyncio.run_coroutine_threadsafe(run(), self._loop)
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait(self, future: concurrent.futures.Future[T]) -> T:
        """From the thread: the result of a submitted call; ``Cancelled`` if it was cancelled."""
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise Cancelled from None

    def cancel_all(self) -> None:
        """On the loop: cancel every call in flight and refuse new ones."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()


def _in_thread(loop: asyncio.AbstractEventLoop, fn: Callable[[], T], name: str) -> asyncio.Future[T]:
    """``fn()`` on a new thread; its outcome as a future of ``loop``."""
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)  # type: ignore[arg-type]

    def main() -> None:
        try:
            value = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=main, name=name, daemon=True).start()
    return done


def lm_pipeline(
    model: str | Any,
    base_url: str | None = None,
    *,
    cache: bool = True,
    max_file_chars: int = DEFAULT_FILE_CHARS,
    concurrency: int = DEFAULT_CONCURRENCY,
    **lm_kwargs: Any,
) -> Callable[[RunContext], Awaitable[dict[str, JsonValue]]]:
    """The llms.txt pipeline (same inputs, events and result) with an LM writing the words.

    ``model`` is a litellm model string (or a ready ``dspy.LM``); ``base_url`` an OpenAI-compatible
    endpoint; ``cache`` is DSPy's cache (a cache hit streams its text as one delta, and an unchanged
    repository makes no LM call); ``concurrency`` how many LM calls run at once. The overview and
    descriptions stream as ``text.delta`` (see :class:`LMDescriber`); titles stay extractive.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive number of LM calls: {concurrency!r}")
    lm = make_lm(model, base_url, cache=cache, **lm_kwargs) if isinstance(model, str) else model

    async def llms_txt_lm(ctx: RunContext) -> dict[str, JsonValue]:
        loop = asyncio.get_running_loop()
        bridge = _LoopBridge(loop)
        describer = LMDescriber(
            ctx, lm, bridge.submit, bridge.wait, max_file_chars=max_file_chars, concurrency=concurrency
        )
        generate = pipeline_with(describer)
        work = _in_thread(loop, lambda: generate(ctx), f"llms-txt-{ctx.run_id[:8]}")
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            bridge.cancel_all()  # closes the LM stream in flight; the generator stops at its next step
            await asyncio.wait([work])
            raise

    llms_txt_lm.__name__ = llms_txt_lm.__qualname__ = "llms_txt_pipeline[lm]"
    return llms_txt_lm
