"""The test command on a machine without ../shared/corpus: what needs the corpus is skipped with
the reason, nothing errors. Every reading of the corpus goes through tests/site/corpus.py's
corpus_dir(), which skips the test that asked; the modules run here read the corpus in their
fixtures and test bodies themselves (the others reach it through the session fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

READERS = (
    "test_discovery.py", "test_example.py", "test_extraction.py", "test_golden.py", "test_language.py",
    "test_stories.py", "test_translation_ctranslate2.py", "test_workers.py",
)  # fmt: skip


def test_without_the_corpus_tests_skip_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCES_CRAWLER_CORPUS": str(tmp_path / "no-corpus"), "CI": ""}
    modules = [str(ROOT / "tests" / name) for name in READERS]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider", "-rs", *modules],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " error" not in result.stdout.splitlines()[-1], result.stdout[-3000:]
    assert f"shared corpus not found at {tmp_path / 'no-corpus'}" in result.stdout, "skipped, with the reason"
