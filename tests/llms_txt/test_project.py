"""The project's name and summary: manifests first for the name, README for the prose."""

from __future__ import annotations

from pathlib import Path

from runwire.actors.llms_txt import ExtractiveDescriber, Options, generate
from runwire.actors.llms_txt.project import detect_project, pick_readme

from .conftest import write_tree

README = "# Readme Title\n\nThe readme's first paragraph.\n"


def _summary(texts: dict[str, str]) -> tuple[str, str]:
    facts = detect_project(texts, "dir-name")
    return facts.name, ExtractiveDescriber().summarize(facts)


def test_pyproject_names_and_describes() -> None:
    pyproject = '[project]\nname = "pyname"\ndescription = "From pyproject."\n'
    assert _summary({"pyproject.toml": pyproject, "README.md": README}) == ("pyname", "From pyproject.")


def test_poetry_table_is_read() -> None:
    pyproject = '[tool.poetry]\nname = "poetic"\ndescription = "From poetry."\n'
    assert _summary({"pyproject.toml": pyproject}) == ("poetic", "From poetry.")


def test_package_json_names_and_describes() -> None:
    package = '{"name": "@scope/jsname", "description": "From package.json."}'
    assert _summary({"package.json": package, "README.md": README}) == ("@scope/jsname", "From package.json.")


def test_manifest_without_description_uses_readme_paragraph() -> None:
    assert _summary({"Cargo.toml": '[package]\nname = "crate"\n', "README.md": README}) == (
        "crate",
        "The readme's first paragraph.",
    )


def test_readme_only() -> None:
    assert _summary({"README.md": README}) == ("Readme Title", "The readme's first paragraph.")


def test_rst_readme() -> None:
    assert _summary({"README.rst": "Rst Name\n========\n\nRST summary.\n"}) == ("Rst Name", "RST summary.")


def test_nothing_known_falls_back_to_directory_name() -> None:
    assert _summary({}) == ("dir-name", "The dir-name repository.")


def test_broken_manifests_are_ignored() -> None:
    texts = {"pyproject.toml": "[project\nname=", "package.json": "{not json", "README.md": README}
    assert _summary(texts) == ("Readme Title", "The readme's first paragraph.")


def test_readme_preference() -> None:
    assert pick_readme(["README.rst", "README.md", "README"]) == "README.md"
    assert pick_readme(["readme.txt", "README"]) == "readme.txt"
    assert pick_readme(["docs/README.md"]) is None


def test_excluded_readme_is_not_used(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "proj", {"README.md": README, "main.py": '"""Main."""\n'})
    result = generate(Options(source=str(src), out=str(tmp_path / "out"), exclude=("README.md",)))
    assert (result["name"], result["summary"]) == ("proj", "The proj repository.")
