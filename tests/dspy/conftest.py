"""Fixtures for the DSPy integration: a scripted OpenAI-compatible server and real ``dspy.LM``s on it.

Nothing here mocks DSPy: every test goes through ``dspy.streamify`` -> DSPy's LM engine -> HTTP
(SSE) -> the scripted server on 127.0.0.1. Offline rules from shared/notes/dspy.md: the model
cost map is read locally (no metadata fetch), DSPy's disk cache lives in a temporary directory,
and LMs are built with ``cache=False`` and ``num_retries=0`` unless a test says otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before DSPy is imported: no network fetch
_CACHE_DIR = tempfile.mkdtemp(prefix="runwire-dspy-cache-")
os.environ["DSPY_CACHEDIR"] = _CACHE_DIR  # never the user's ~/.dspy_cache

from runwire.actors.dspy.scripted import Reply, ScriptedServer  # noqa: E402

try:
    import dspy
except ImportError:  # DSPy is optional (runwire[dspy]): without it this folder is not collected
    dspy = None
    collect_ignore_glob = ["test_*.py"]

MakeLM = Callable[..., Any]


@pytest.fixture(scope="session", autouse=True)
def _dspy_cache_dir() -> Iterator[None]:
    yield
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


@pytest.fixture
def lm_server() -> Iterator[ScriptedServer]:
    """A scripted server with no default reply: each test pushes or sets what it answers."""
    with ScriptedServer(Reply(status=500, error_message="no reply scripted for this request")) as server:
        yield server


def lm_for(server: ScriptedServer, **kwargs: Any) -> Any:
    """A real ``dspy.LM`` pointed at ``server``: no cache and no retries unless asked."""
    options: dict[str, Any] = {"api_key": "test-key", "cache": False, "num_retries": 0, **kwargs}
    return dspy.LM("openai/test-model", api_base=server.base_url, **options)


@pytest.fixture
def make_lm(lm_server: ScriptedServer) -> MakeLM:
    return lambda **kwargs: lm_for(lm_server, **kwargs)
