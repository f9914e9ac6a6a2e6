"""docs/dspy.md's offline example runs as written (in a fresh interpreter, no network)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "dspy.md"


def _offline_example() -> str:
    text = DOC.read_text()
    section = text[text.index("### Fully offline: the scripted server") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_offline_example_runs_as_documented() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _offline_example()],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[:3] == ["'Rayleigh'", "' scattering'", "' makes'"]
    assert lines[-1] == "{'answer': 'Rayleigh scattering makes the sky blue.'} stop"
