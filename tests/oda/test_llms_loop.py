"""The real loop: `runwire loop llms-txt SOURCE` writes whatever part of llms.txt is missing or stale, one
section per step, and ends with exactly the one-shot pipeline's llms.txt and llms-full.txt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runwire.actors import RunSystem
from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT, llms_txt_pipeline
from runwire.actors.oda import Budget, LoopHandle
from runwire.actors.oda.llms_loop import start_llms_txt_loop
from runwire.protocol import parse_event

from ..helpers import assert_well_formed
from ..llms_txt.conftest import MAX_BYTES, PROJECT_FILES, write_tree
from ._util import WAIT, assert_loop_well_formed

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")
OUTPUTS = (LLMS_TXT, LLMS_FULL_TXT)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "widgetry", PROJECT_FILES)


def one_shot(system: RunSystem, repo: Path, out: Path) -> dict[str, bytes]:
    """The one-shot pipeline's output for ``repo`` (run on the same RunSystem)."""
    inputs = {"source": str(repo), "out": str(out), "max_file_bytes": MAX_BYTES}
    assert system.start(llms_txt_pipeline, inputs).wait(WAIT).type == "run.completed"
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def run_loop(system: RunSystem, repo: Path, out: Path) -> tuple[LoopHandle, list[str]]:
    loop = start_llms_txt_loop(system, {"source": str(repo), "out": str(out), "max_file_bytes": MAX_BYTES})
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.completed", terminal
    events = assert_loop_well_formed(system, loop)
    finished = [e for e in events if e.type == "step.finished"]
    assert all(e.outcome == "completed" for e in finished), finished
    return loop, [e.name for e in events if e.type == "step.started"]  # type: ignore[misc]


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def test_one_part_per_step_and_the_result_equals_the_one_shot_pipeline(
    system: RunSystem, repo: Path, tmp_path: Path
) -> None:
    expected = one_shot(system, repo, tmp_path / "one-shot")
    loop, steps = run_loop(system, repo, tmp_path / "loop")
    assert steps == [
        "write intro",
        "write Docs",
        "write Source",
        "write Examples",
        "write Optional",
        "write llms-full.txt",
    ]
    assert outputs(tmp_path / "loop") == expected
    assert loop.wait(WAIT).result == {
        "parts": ["intro", "Docs", "Source", "Examples", "Optional"],
        "up_to_date": [LLMS_TXT, LLMS_FULL_TXT],
    }


def test_an_up_to_date_output_takes_no_step(system: RunSystem, repo: Path, tmp_path: Path) -> None:
    run_loop(system, repo, tmp_path / "out")
    before = outputs(tmp_path / "out")
    _, steps = run_loop(system, repo, tmp_path / "out")
    assert steps == []
    assert outputs(tmp_path / "out") == before


def test_only_the_stale_section_is_rewritten(system: RunSystem, repo: Path, tmp_path: Path) -> None:
    run_loop(system, repo, tmp_path / "out")
    core = repo / "src/widgetry/core.py"
    core.write_text(core.read_text().replace("Core widget logic.", "Core widget magic."))  # same size and tokens
    _, steps = run_loop(system, repo, tmp_path / "out")
    assert steps == ["write Source", "write llms-full.txt"]
    assert outputs(tmp_path / "out") == one_shot(system, repo, tmp_path / "one-shot")


def test_a_section_that_disappeared_is_dropped(system: RunSystem, repo: Path, tmp_path: Path) -> None:
    run_loop(system, repo, tmp_path / "out")
    shutil.rmtree(repo / "examples")
    _, steps = run_loop(system, repo, tmp_path / "out")
    assert steps == ["write intro", "drop Examples", "write llms-full.txt"]
    assert outputs(tmp_path / "out") == one_shot(system, repo, tmp_path / "one-shot")


def test_a_hand_edited_file_is_repaired_part_by_part(system: RunSystem, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_loop(system, repo, out)
    text = (out / LLMS_TXT).read_text()
    (out / LLMS_TXT).write_text(text.replace("## Source", "## Bogus") + "\n## Extra\n\n- [x](x)\n")
    _, steps = run_loop(system, repo, out)
    assert steps == ["drop Bogus", "write Source", "drop Extra"]
    assert outputs(out) == one_shot(system, repo, tmp_path / "one-shot")


def test_bad_inputs_fail_before_anything_runs(system: RunSystem, tmp_path: Path) -> None:
    from runwire.actors.llms_txt import LlmsTxtError

    with pytest.raises(LlmsTxtError, match="unknown input"):
        start_llms_txt_loop(system, {"source": str(tmp_path), "colour": "blue"})
    loop = start_llms_txt_loop(system, {"source": str(tmp_path / "missing"), "out": str(tmp_path)})
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.failed" and terminal.error_type == "SourceError"


def test_a_budget_too_small_ends_with_finish_reason(system: RunSystem, repo: Path, tmp_path: Path) -> None:
    loop = start_llms_txt_loop(
        system, {"source": str(repo), "out": str(tmp_path / "out"), "max_file_bytes": MAX_BYTES}, budget=Budget(2)
    )
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.completed" and terminal.finish_reason == "max_steps"


def test_cli_loop_json_and_exit_codes(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [RUNWIRE, "loop", "llms-txt", str(repo), "--out", str(out), "--max-file-bytes", str(MAX_BYTES), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events = [parse_event(line) for line in proc.stdout.splitlines()]
    assert_well_formed(events)
    assert sum(1 for e in events if e.type == "step.finished") == 6
    with RunSystem() as system:
        assert outputs(out) == one_shot(system, repo, tmp_path / "one-shot")
    missing = subprocess.run(
        [RUNWIRE, "loop", "llms-txt", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == 2 and "source not found" in missing.stderr
