"""Evidence in real crawls: what a revision sends to translation, and the WARC archive's fault
rules (a full disk, a crawl killed while it writes)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.exit_codes import EXIT_OUTPUT_FAILED
from tests.conftest import ROOT, crawl_command, newsroom_crawl, run_crawl
from tests.disks import fill, tmpfs
from tests.site.clock import fixed_clock_env, require_libfaketime
from tests.site.newsroom import Newsroom
from tests.site.server import Site
from tests.site.translators import FakeTranslator


def test_a_revision_sends_only_its_changed_paragraphs_to_translation(tmp_path: Path, newsroom: Newsroom) -> None:
    library = require_libfaketime()
    with FakeTranslator() as fake:
        google = ("-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={fake.url('/m')}")
        first = run_crawl(tmp_path, newsroom.sources_yaml(), *google, output="first.jsonl")
        assert first.returncode == 0, first.stderr[-2000:]
        assert len(first.records) == 12 and all(r["translation"]["status"] == "translated" for r in first.records)
        sent_before = len(fake.texts)
        newsroom.edit(0)  # announced: the sitemap's lastmod and the Atom entry's <updated> move
        silent = newsroom.stories[7]
        silent.edition += 1
        newsroom._serve(silent)  # edited without a word in any feed or sitemap
        later = fixed_clock_env(datetime.now(UTC) + timedelta(hours=2), library)
        second = run_crawl(tmp_path, newsroom.sources_yaml(), *google, output="second.jsonl", env=later)
    assert second.returncode == 0, second.stderr[-2000:]
    by_number = {int(r["url"].rsplit("/", 1)[1][:4]): r for r in second.records}
    assert set(by_number) == {0, 7}, "each edit once, nothing else"
    assert by_number[0]["change"]["found_by"] == "announced" and by_number[7]["change"]["found_by"] == "revisit"
    for record in by_number.values():
        assert [a["index"] for a in record["change"]["paragraphs"]["added"]] == [5]
        assert record["revision"] == 2 and record["translation"]["status"] == "translated"
        assert record["text_en"].count("\n") == record["text"].count("\n")
    new_texts = fake.texts[sent_before:]
    assert new_texts and all("Оновлено" in text for text in new_texts), "only the new paragraph went out"


def test_a_full_disk_under_the_warc_archive_fails_the_run_whole(tmp_path: Path) -> None:
    with Site() as site, tmpfs(tmp_path / "disk", "1m") as disk:
        newsroom = Newsroom(site, 40)
        fill(disk, leave=24 * 1024)
        warc = ("-s", f"WARC_DIR={disk / 'warc'}")
        run = newsroom_crawl(tmp_path, newsroom, *warc)
        assert run.returncode == EXIT_OUTPUT_FAILED, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
        assert [line for line in run.stderr.splitlines() if "No space left on device" in line and "WARC" in line]
        assert not list((disk / "warc").glob("*.open")), "no file left as if it were being written"
        for path in (disk / "warc").glob("*.warc.gz"):
            _read_all(path)  # what was kept is whole
        # Outputs published anyway (as when any one output fails) point only into whole files.
        for record in run.records:
            if record["warc"] is not None:
                with open(record["warc"]["file"], "rb") as stream:
                    stream.seek(record["warc"]["offset"])
                    stored = next(iter(ArchiveIterator(stream)))
                assert stored.rec_headers.get_header("WARC-Record-ID") == record["warc"]["record_id"]
        (disk / "filler").unlink()
        again = newsroom_crawl(tmp_path, newsroom, *warc)
        assert again.returncode == 0, again.stderr[-2000:]
        assert len(again.records) == 40, "nothing of the failed run was marked delivered"
        assert all(r["warc"] and Path(r["warc"]["file"]).exists() for r in again.records)


def test_a_warc_file_left_open_by_kill_9_is_cut_back_and_renamed(tmp_path: Path) -> None:
    with Site() as site:
        # The feed lists the newest first: 7 to 4 come at once, 3 to 0 stall, so the crawl is
        # still running (its WARC file open) when it is killed, however fast it extracts.
        newsroom = Newsroom(site, 8, slow={n: 3.0 for n in range(4)})
        warc = tmp_path / "warc"
        command = crawl_command(tmp_path, newsroom.sources_yaml(), "-s", "TRANSLATION_PROVIDER=none",
                                "-s", f"WARC_DIR={warc}", "-O", str(tmp_path / "out.jsonl"))  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while newsroom.article_hits() < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the fast pages' records written, the stalled ones not yet answered
        assert process.poll() is None, "the crawl ended before the stalled pages were answered"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        left = list(warc.glob("*.warc.gz.open"))
        assert left, "the killed crawl was writing"
        newsroom.stop_stalling()
        again = newsroom_crawl(tmp_path, newsroom, "-s", f"WARC_DIR={warc}")
        assert again.returncode == 0, again.stderr[-2000:]
        assert not list(warc.glob("*.open"))
        recovered = left[0].with_name(left[0].name.removesuffix(".open"))
        assert recovered.exists() and "left open by a killed run" in again.stderr
        kinds = _read_all(recovered)
        assert kinds.get("response", 0) >= 3, kinds


def _read_all(path: Path) -> dict[str, int]:
    kinds: dict[str, int] = {}
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            kinds[record.rec_type] = kinds.get(record.rec_type, 0) + 1
    return kinds
