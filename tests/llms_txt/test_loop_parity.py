"""`runwire loop llms-txt` takes the same options as `runwire run llms-txt` and ends with the same bytes.

Budgets, vendored folders and secret screening are laid out by the same function in both (layout.py),
so a loop run with every option set is compared byte for byte with the one-shot run of the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT

from .conftest import write_tree

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")
SECRET = 'password = "hunter2hunter2"'


def _tree(root: Path) -> Path:
    files: dict[str, str] = {
        "README.md": f"# Gadgets\n\nGadgets for widgets.\n\n```\n{SECRET}\n```\n",
        "env/pyvenv.cfg": "home = /usr/bin\n",
        "env/lib/helper.py": '"""A helper installed in a virtual environment."""\n',
    }
    for i in range(60):
        files[f"gadgets/module_{i:02d}.py"] = f'"""Module {i} does thing number {i} for the gadgets."""\n\nX = {i}\n'
    return write_tree(root, files)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNWIRE, *args], capture_output=True, text=True, timeout=120, check=False)


def test_loop_takes_the_run_flags_and_ends_with_the_run_bytes(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo")
    flags = ["--max-tokens", "1000", "--max-full-tokens", "600", "--include-vendored", "--no-secret-scan"]
    run = _cli("run", "llms-txt", str(repo), "--out", str(tmp_path / "run"), "--no-store", *flags)
    loop = _cli("loop", "llms-txt", str(repo), "--out", str(tmp_path / "loop"), "--no-store", *flags)
    assert run.returncode == 0, run.stderr
    assert loop.returncode == 0, loop.stderr
    for name in (LLMS_TXT, LLMS_FULL_TXT):
        assert (tmp_path / "loop" / name).read_bytes() == (tmp_path / "run" / name).read_bytes(), name
    index = (tmp_path / "loop" / LLMS_TXT).read_text()
    full = (tmp_path / "loop" / LLMS_FULL_TXT).read_text()
    assert "Left out for size" in index and "not linked here" in index  # --max-tokens applied
    assert "(env/" in index  # --include-vendored applied (linked or counted per directory)
    assert SECRET in full  # --no-secret-scan applied
    assert "left out for size" in full  # --max-full-tokens applied
    default = _cli("loop", "llms-txt", str(repo), "--out", str(tmp_path / "default"), "--no-store")
    assert default.returncode == 0, default.stderr
    assert SECRET not in (tmp_path / "default" / LLMS_FULL_TXT).read_text()
    assert "(env/" not in (tmp_path / "default" / LLMS_TXT).read_text()


def test_loop_rejects_bad_options_like_run_before_anything_runs(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo")
    (tmp_path / "file").write_text("x")
    for args in (["--out", str(tmp_path / "file" / "out")], ["--max-tokens", "10"], ["--max-full-tokens", "0"]):
        result = _cli("loop", "llms-txt", str(repo), "--no-store", *args)
        assert result.returncode == 2, (args, result.stderr)
    bad_out = _cli("loop", "llms-txt", str(repo), "--no-store", "--out", str(tmp_path / "file" / "out"))
    assert bad_out.stderr.count("\n") == 1 and bad_out.stderr.startswith("runwire: cannot create output directory")
