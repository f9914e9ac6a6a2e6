"""An overview reorders and moves links, but never loses, duplicates or invents one (pure, property-tested)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runwire.actors.llms_txt import Overview
from runwire.actors.llms_txt.analyze import FileInfo
from runwire.actors.llms_txt.classify import classify
from runwire.actors.llms_txt.describer import guide_sections
from runwire.actors.llms_txt.render import build_sections

PATHS = ["README.md", "docs/a.md", "docs/b.md", "src/x.py", "src/y.py", "examples/e.py", "tests/test_x.py", "setup.cfg"]


def _info(rel: str) -> FileInfo:
    return FileInfo(rel=rel, path=rel, size=1, kind=classify(rel), tokens=1, title=None, description="")


@given(
    st.lists(st.sampled_from(PATHS), unique=True, min_size=1),
    st.lists(st.sampled_from([*PATHS, "not/there.py"])),
    st.lists(st.sampled_from([*PATHS, "not/there.py"])),
)
def test_guided_sections_hold_the_same_links_key_files_lead_and_the_readme_stays_first(
    present: list[str], key: list[str], optional: list[str]
) -> None:
    readme = "README.md" if "README.md" in present else None
    sections = build_sections([_info(rel) for rel in present], readme)
    guided = guide_sections(sections, Overview("s", key_files=tuple(key), optional_files=tuple(optional)), readme)
    links = [info.rel for section in guided for info in section.files]
    assert sorted(links) == sorted(present)  # nothing lost, duplicated or invented
    assert all(section.files for section in guided)
    by_rel = {info.rel: section.name for section in guided for info in section.files}
    if readme is not None:
        assert guided[0].name == "Docs" and guided[0].files[0].rel == readme
    for rel in set(optional) - set(key) - {readme}:
        if rel in by_rel:
            assert by_rel[rel] == "Optional"
    for section in guided:
        ranks = [key.index(info.rel) for info in section.files if info.rel in key and info.rel != readme]
        unranked_after = [info.rel for info in section.files if info.rel not in key and info.rel != readme]
        assert ranks == sorted(ranks)  # key files in the LM's order ...
        first_unranked = next((i for i, info in enumerate(section.files) if info.rel in unranked_after), None)
        if first_unranked is not None:  # ... and before every other file of their section
            assert all(info.rel not in key for info in section.files[first_unranked:])


def test_an_empty_overview_changes_nothing() -> None:
    sections = build_sections([_info(rel) for rel in PATHS], "README.md")
    assert guide_sections(sections, Overview("s"), "README.md") == sections
