"""Every Python block in README.md and docs/*.md runs as copied (pytest-examples finds them).

Each block runs in a fresh temporary working directory. A block that needs something around it
says so in its fence, e.g. ```` ```python fixture="widgetry" ````:

- ``widgetry``: the small repository of tests/llms_txt (README, docs, sources...) as ``./widgetry``;
- ``lm-server``: a scripted OpenAI-compatible server behind ``OPENAI_API_BASE`` with a key set, so
  an ``openai/...`` model answers offline;
- ``mcp-server``: ``runwire serve --http --token s3cret`` on a loopback port (the block's
  ``http://127.0.0.1:8765/mcp`` is pointed at it), with ``./myrepo`` to describe.

What a block prints must not say ``failed`` (the examples print how their runs ended), unless
its fence says ``output="any"``. A block that cannot run says ``test="skip"`` and why
(``reason="..."``): the skip is on purpose and shows in the test report. New docs are picked up
automatically: the glob runs at collection.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before DSPy is imported: no network fetch
os.environ.setdefault("DSPY_CACHEDIR", tempfile.mkdtemp(prefix="runwire-docs-dspy-cache-"))  # never ~/.dspy_cache

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = list(find_examples(*(str(path) for path in DOCS)))
MCP_URL_IN_DOCS = "http://127.0.0.1:8765/mcp"


def _example_id(example: CodeExample) -> str:
    return f"{example.path.relative_to(ROOT)}:{example.start_line}"


@contextmanager
def _widgetry(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from tests.llms_txt.conftest import PROJECT_FILES, write_tree

    write_tree(cwd / "widgetry", PROJECT_FILES)
    yield {}


@contextmanager
def _lm_server(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply

    def script(body: dict[str, Any]) -> Reply:
        system = body["messages"][0]["content"]
        fields = {"answer": "Rayleigh scattering makes the sky blue."}
        if "[[ ## reasoning ## ]]" in system:
            fields = {"reasoning": "Short wavelengths scatter most.", **fields}
        return Reply(chat_reply(**fields), delay=0.001)

    with ScriptedServer(script) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "docs-test-key")
        yield {}


@contextmanager
def _mcp_server(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from runwire.actors import RunSystem
    from runwire.actors.mcp import HTTPServerThread, build_server, http_app

    (cwd / "myrepo").mkdir()
    (cwd / "myrepo" / "README.md").write_text("# My repo\n\nWhat the MCP example describes.\n")
    with RunSystem() as system:
        server = build_server(system, [cwd], token="s3cret")
        with HTTPServerThread(http_app(server)) as thread:
            yield {MCP_URL_IN_DOCS: thread.url}


FIXTURES = {"widgetry": _widgetry, "lm-server": _lm_server, "mcp-server": _mcp_server}


def test_every_doc_has_its_python_blocks_found() -> None:
    found = {example.path for example in EXAMPLES}
    assert ROOT / "README.md" in found
    for name in ("dspy.md", "llms-txt.md", "mcp.md", "store.md"):
        assert ROOT / "docs" / name in found


@pytest.mark.parametrize("example", EXAMPLES, ids=_example_id)
def test_python_blocks_in_the_docs_run_as_copied(
    example: CodeExample,
    eval_example: EvalExample,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = example.prefix_settings()
    if settings.get("test") == "skip":
        reason = settings.get("reason")
        assert reason, f"{_example_id(example)}: a skipped block says why (reason=...)"
        pytest.skip(f"marked in the doc: {reason}")
    names = [name for name in settings.get("fixture", "").split(",") if name]
    unknown = sorted(set(names) - set(FIXTURES))
    assert not unknown, f"{_example_id(example)}: unknown fixture(s) {unknown}; known: {sorted(FIXTURES)}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with ExitStack() as stack:
        replace: dict[str, str] = {}
        for name in names:
            replace |= stack.enter_context(FIXTURES[name](cwd, monkeypatch))
        source = example.source
        for old, new in replace.items():
            assert old in source, f"{_example_id(example)}: the block does not use {old}"
            source = source.replace(old, new)
        runnable = example if source == example.source else _with_source(example, source)
        eval_example.run(runnable)
    printed = capsys.readouterr().out
    if settings.get("output") != "any":  # the examples print how their runs ended: none may have failed
        assert "failed" not in printed, f"{_example_id(example)} printed:\n{printed[-2000:]}"


def _with_source(example: CodeExample, source: str) -> CodeExample:
    return CodeExample.create(source, path=example.path, start_line=example.start_line, prefix=example.prefix)
