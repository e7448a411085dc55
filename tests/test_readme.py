"""The README's commands are the ones CI runs and the ones that work."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if "pytest" in line]
    assert len(ci_lines) == 1
    assert f"\n{ci_lines[0]}\n" in readme


def test_readme_documents_every_setting_of_the_product() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    from crawler import settings

    for name in (
        "SOURCES_FILE",
        "STATE_DB",
        "SOURCES_MAX_ARTICLES",
        "DEFAULT_FEEDS",
        *tuple(n for n in dir(settings) if n.startswith("TRANSLATION_")),
    ):
        assert f"`{name}`" in readme, name
