"""What the main job publishes (issue 17, scan side): no secrets, no vendored trees, not its own
output; a bad --out refused before the scan; bounded partials; one readable log line per milestone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT, Options, generate
from runwire.actors.llms_txt.generate import PARTIAL_CHUNK_BYTES, utf8_chunks

from .conftest import Recorder, write_tree
from .test_cli import RUNWIRE

# Ten kinds (and more) of planted secrets: the values must appear in neither output file.
_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7planted0private0key0body0\n-----END RSA PRIVATE KEY-----\n"
PLANTED = {
    "aws_key_id": "AKIAZ7PLANTED000KEY1",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTED0KEY",
    "github": "ghp_" + "P1anted0GitHub0Token0Value0000000000"[:36],
    "slack": "xoxb-123456789012-PLANTED-slacktoken",
    "stripe": "sk_live_" + "51Planted0Stripe0Key0000",
    "google": "AIza" + "SyPlanted0Google0Api0Key00000000000"[:35],
    "openai": "sk-proj-" + "Planted0OpenAI0Key0000000000000000000",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.PlantedSignature0000",
    "password": "Pl4nted-Passw0rd!",
    "url_password": "pl4ntedurlpw",
    "dotenv": "PLANTED_DOTENV_VALUE_42",
    "private_key": "7planted0private0key0body0",
    "npm": "npm_" + "Planted0Npm0Token000000000000000000"[:36],
}
SECRET_TREE: dict[str, str] = {
    "README.md": "# Vault\n\nA project with secrets planted in it.\n",
    "src/settings.py": (
        '"""Settings."""\n\nDEBUG = False\n'
        f'AWS_ACCESS_KEY_ID = "{PLANTED["aws_key_id"]}"\n'
        f'aws_secret_access_key = "{PLANTED["aws_secret"]}"\n'
        f'DB_PASSWORD = "{PLANTED["password"]}"\n'
        f'BROKER = "amqp://worker:{PLANTED["url_password"]}@mq.internal:5672//"\n'
        'API_KEY = "YOUR_API_KEY"  # a placeholder: kept\n'
    ),
    "src/clients.js": (
        "// API clients.\n"
        f'const github = "{PLANTED["github"]}";\n'
        f'const slack = "{PLANTED["slack"]}";\n'
        f'const stripe = "{PLANTED["stripe"]}";\n'
        f'const google = "{PLANTED["google"]}";\n'
        f'const openai = "{PLANTED["openai"]}";\n'
        f'const session = "{PLANTED["jwt"]}";\n'
        "export const ok = 1;\n"
    ),
    ".npmrc": f"//registry.npmjs.org/:_authToken={PLANTED['npm']}\n",
    ".env": f"SECRET_VALUE={PLANTED['dotenv']}\n",
    "deploy/server.pem": _PEM,
    "docs/guide.md": "# Guide\n\nConnect with `https://user:<password>@host/` (a placeholder).\n",
}


def test_planted_secrets_of_ten_kinds_never_reach_the_output(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "vault", SECRET_TREE)
    out = tmp_path / "out"
    recorder = Recorder()
    result = generate(Options(source=str(root), out=str(out)), reporter=recorder)
    published = (out / LLMS_TXT).read_text() + (out / LLMS_FULL_TXT).read_text()
    leaked = [kind for kind, value in PLANTED.items() if value in published]
    assert leaked == []
    assert "YOUR_API_KEY" in published and "<password>@host" in published  # placeholders are not secrets
    assert "export const ok = 1;" in published  # the rest of a redacted file is kept
    secrets = {entry["path"]: entry for entry in result["secrets"]}  # type: ignore[union-attr,index]
    assert set(secrets) == {".env", ".npmrc", "deploy/server.pem", "src/clients.js", "src/settings.py"}
    assert secrets[".env"]["lines"] == [] and secrets["deploy/server.pem"]["why"] == ["private_key"]
    assert secrets["src/settings.py"]["lines"] == [4, 5, 6, 7]
    [milestone] = [p["data"] for p in recorder.of("milestone") if p["name"] == "secrets_excluded"]
    assert milestone["files"] == [".env", "deploy/server.pem"]
    assert [p for p in recorder.of("log") if p["message"].startswith("left out for secrets: .env (whole file")]


def test_secret_scan_can_be_turned_off(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "vault", SECRET_TREE)
    generate(Options(source=str(root), out=str(tmp_path / "out"), secret_scan=False))
    assert PLANTED["aws_key_id"] in (tmp_path / "out" / LLMS_FULL_TXT).read_text()


def test_virtualenvs_site_packages_and_vendored_folders_are_skipped_by_default(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "repo",
        {
            "README.md": "# App\n\nThe app.\n",
            "app.py": '"""The app."""\n',
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "env/lib/python3.11/site-packages/dep/__init__.py": '"""A dependency."""\n',
            "lib/site-packages/other/__init__.py": '"""Installed package."""\n',
            "web/node_modules/left-pad/index.js": "// dep\n",
            "vendor/lib.go": "// vendored\npackage lib\n",
            "target/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
            "target/debug/build.rs": "// build output\n",
        },
    )
    default = generate(Options(source=str(root), out=str(tmp_path / "a")))
    assert default["files"]["included"] == 2  # type: ignore[index]
    assert default["files"]["skipped_dirs"]["vendored"] == 4  # type: ignore[index]
    everything = generate(Options(source=str(root), out=str(tmp_path / "b"), include_vendored=True))
    assert everything["files"]["included"] == 8  # type: ignore[index]  # node_modules is also a default exclude


def test_runwire_never_indexes_its_own_earlier_output(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# Own\n\nThe project.\n", "docs/a.md": "# A\n\nDoc.\n"})
    generate(Options(source=str(root), out=str(root / "docs")))  # as the MCP tool does: into the repository
    result = generate(Options(source=str(root), out=str(tmp_path / "elsewhere")))
    index = (tmp_path / "elsewhere" / LLMS_TXT).read_text()
    assert "(docs/llms.txt)" not in index and "(docs/llms-full.txt)" not in index
    assert result["files"]["skipped"]["output"] == 2  # type: ignore[index]
    (root / "llms.txt").write_text("# A hand-written llms.txt\n\n> Not ours.\n")
    kept = generate(Options(source=str(root), out=str(tmp_path / "third")))
    assert "(llms.txt)" in (tmp_path / "third" / LLMS_TXT).read_text()
    assert kept["files"]["skipped"]["output"] == 2  # type: ignore[index]


def test_partial_chunks_are_bounded_to_16_kib(tmp_path: Path) -> None:
    body = "".join(f"line {i} ünïcödé € text to stream\n" for i in range(8000))  # ~300 KB, multi-byte
    root = write_tree(tmp_path / "repo", {"README.md": "# Big\n\nBig.\n", "notes.txt": body})
    recorder = Recorder()
    generate(Options(source=str(root), out=str(tmp_path / "out"), max_file_bytes=1 << 20), reporter=recorder)
    partials = [p["text"] for p in recorder.of("partial") if p["artifact_id"] == LLMS_FULL_TXT]
    assert max(len(chunk.encode("utf-8")) for chunk in partials) <= PARTIAL_CHUNK_BYTES
    assert body in "".join(partials)
    assert utf8_chunks("é" * 10, 3) == ["é"] * 10  # never cut inside a character


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNWIRE, "run", "llms-txt", *args], capture_output=True, text=True, timeout=120, check=False)


def test_bad_out_is_one_line_exit_2_before_any_run(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# R\n\nR.\n"})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    data = tmp_path / "data"
    result = _run_cli(str(root), "--out", str(blocker / "deeper" / ("long-name-" * 12)), "--data-dir", str(data))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("runwire: cannot create output directory")
    assert not data.exists()  # no run was started, so nothing was stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "repo"]


def test_non_tty_log_is_one_whole_line_per_milestone(tmp_path: Path) -> None:
    files = {"README.md": "# R\n\nR.\n", **{f"pkg/module_with_a_long_name_{i}.py": '"""M."""\n' for i in range(30)}}
    root = write_tree(tmp_path / "repo", files)
    result = _run_cli(str(root), "--out", str(tmp_path / "out"), "--no-store", "--exclude", "nothing-*" * 10)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("milestone ")]
    names = [line.split()[1] for line in lines]
    assert names[:3] == ["repo_fetched", "analysis_started", "files_scanned"]
    started = lines[1]
    assert "exclude=" + "nothing-*" * 10 in started and "..." not in started and "{" not in started
    assert json.dumps({}) not in "".join(lines)


def test_bad_exclude_or_base_url_is_one_line_exit_2_before_any_run(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# R\n\nR.\n"})
    data = tmp_path / "data"
    for bad in (("--exclude", "foo\\"), ("--base-url", "not-a-url")):
        result = _run_cli(str(root), "--out", str(tmp_path / "out"), "--data-dir", str(data), *bad)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("runwire: ")
    assert not data.exists() and not (tmp_path / "out").exists()
