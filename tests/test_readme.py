"""The README's commands are the ones CI runs and the ones that work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if "pytest" in line]
    assert len(ci_lines) == 1
    assert f"\n{ci_lines[0]}\n" in readme


def test_readme_documents_every_setting_of_the_product() -> None:
    """Every setting the project adds to Scrapy's is in the README (Scrapy's own are Scrapy's docs)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    from scrapy.settings import default_settings

    from crawler import settings

    ours = [
        name
        for name in dir(settings)
        if name.isupper() and not name.startswith("_") and not hasattr(default_settings, name)
    ]
    assert "OUTPUT_RETENTION_DAYS" in ours and "SOURCES_FILE" in ours
    missing = [name for name in ours if f"`{name}`" not in readme]
    assert not missing, missing


def _anchor(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize(("readme", "at_least"), [("README.md", 20), ("benchmarks/README.md", 0)])
def test_every_link_within_the_readmes_leads_somewhere(readme: str, at_least: int) -> None:
    """The table of contents and the links between sections and files resolve."""
    path = ROOT / readme
    text = path.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    anchors = {_anchor(title) for title in re.findall(r"^#{1,4} (.+)$", prose, flags=re.M)}
    links = re.findall(r"\]\(([^)\s]+)\)", prose)
    assert len(links) >= at_least
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, fragment = link.partition("#")
        if target:
            assert (path.parent / target).exists(), link
            if fragment:
                other = (path.parent / target).read_text(encoding="utf-8")
                other = re.sub(r"```.*?```", "", other, flags=re.S)
                assert fragment in {_anchor(t) for t in re.findall(r"^#{1,4} (.+)$", other, flags=re.M)}, link
        else:
            assert fragment in anchors, link
