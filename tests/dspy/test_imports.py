"""DSPy stays optional: nothing imports it until a DSPy name is used."""

from __future__ import annotations

import json
import subprocess
import sys

import runwire.actors.dspy


def _top_modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {name.split(".")[0] for name in json.loads(out.stdout)}


def test_the_package_and_the_scripted_server_do_not_import_dspy() -> None:
    mods = _top_modules_after("import runwire.actors, runwire.actors.dspy, runwire.actors.dspy.scripted")
    assert not {"dspy", "litellm", "openai"} & mods


def test_every_public_name_resolves() -> None:
    for name in runwire.actors.dspy.__all__:
        assert getattr(runwire.actors.dspy, name) is not None


def test_a_missing_dspy_is_reported_with_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['dspy'] = None\n"
        "import runwire.actors.dspy as d\n"
        "try:\n    d.run_dspy\nexcept ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "runwire's DSPy integration needs DSPy: pip install 'runwire[dspy]'"
