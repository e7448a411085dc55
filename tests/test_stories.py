"""Stories: syndicated copy and language editions share a story id, across sources and runs."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from crawler.output.digest import render_text, story_groups
from crawler.parsing.article import Article, ExtractionOptions, extract_article
from crawler.parsing.fingerprint import fingerprint, numbers_agree, similarity
from crawler.stories.assign import PendingStories, Reason, assign_story
from tests.conftest import run_crawl
from tests.site.server import Site
from tests.site.syndication import OUTLETS, Story, SyndicationSites, corpus_stories, outlet_page
from tests.site.translators import FakeTranslator

pytestmark = pytest.mark.usefixtures("corpus_available")


def _extract(outlet_name: str, story: Story, other: Story) -> Article:
    outlet = next(o for o in OUTLETS if o.name == outlet_name)
    url = f"https://{outlet.host}/news/{story.key.replace('/', '-')}.html"
    html = outlet_page(outlet, story, url, other=(other.title, f"https://{outlet.host}/x.html"), sidebar=[])
    result = extract_article(html, ExtractionOptions(url=url, language_hint=story.language))
    assert isinstance(result, Article), result
    return result


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_copy_in_other_templates_matches_and_other_texts_do_not(language: str) -> None:
    stories = corpus_stories(language)
    for story, other in zip(stories[:8], stories[8:16], strict=True):
        prints = {name: _extract(name, story, other).fingerprint for name in ("agency", "portal", "daily")}
        assert all(prints.values())
        for a, b in itertools.combinations(prints.values(), 2):
            assert a is not None and b is not None
            assert similarity(a.minhash, b.minhash) >= 0.4, story.key
        different = _extract("agency", other, story).fingerprint
        assert different is not None and similarity(prints["agency"].minhash, different.minhash) < 0.25  # type: ignore[union-attr]


def test_a_template_series_differs_in_its_figures() -> None:
    """Tomorrow's report from the same template (every figure changed) is another story."""
    story = next(s for s in corpus_stories("uk") if len(re.findall(r"\d+", " ".join(s.paragraphs))) >= 6)
    today = "\n".join(story.paragraphs)
    tomorrow = re.sub(r"\d+", lambda m: str(int(m.group()) + 4), today)
    first, second = fingerprint(today), fingerprint(tomorrow)
    assert first is not None and second is not None
    assert similarity(first.minhash, second.minhash) >= 0.4  # the words alone would merge them
    assert not numbers_agree(first.numbers, second.numbers)
    pending = PendingStories()
    pending.add("a" * 20, "a" * 20, [], first)
    assert assign_story("b" * 20, [], second, [pending]).reason == Reason.NEW
    trimmed = fingerprint("\n".join(story.paragraphs[:-1]))
    assert trimmed is not None and numbers_agree(first.numbers, trimmed.numbers)


def _integral(f, a: float, b: float, steps: int = 2000) -> float:
    width = (b - a) / steps
    return width * (f(a) / 2 + sum(f(a + i * width) for i in range(1, steps)) + f(b) / 2)


def test_the_bands_are_the_split_that_best_separates_the_threshold() -> None:
    """LSH bands of rows: the split of NUM_PERM that minimises false positives below THRESHOLD
    plus false negatives above it (the rule datasketch's MinHashLSH used)."""
    from crawler.parsing.fingerprint import BANDS, NUM_PERM, ROWS, THRESHOLD

    def error(bands: int, rows: int) -> float:
        positive = _integral(lambda s: 1 - (1 - s**rows) ** bands, 0.0, THRESHOLD)
        negative = _integral(lambda s: 1 - (1 - (1 - s**rows) ** bands), THRESHOLD, 1.0)
        return 0.5 * positive + 0.5 * negative

    splits = [(b, r) for b in range(1, NUM_PERM + 1) for r in range(1, NUM_PERM // b + 1)]
    assert min(splits, key=lambda split: error(*split)) == (BANDS, ROWS)


def test_the_estimate_follows_the_true_similarity_of_real_texts() -> None:
    """One-permutation MinHash with densification estimates the Jaccard similarity of the
    texts' shingles as 128 permutations would: within 3 standard deviations on real pairs,
    short texts (mostly empty bins, densified) included."""
    from crawler.parsing.fingerprint import NUM_PERM, THRESHOLD, band_keys, shingles

    stories = corpus_stories("uk")[:8] + corpus_stories("ru")[:8]
    texts = [" ".join(story.paragraphs) for story in stories]
    texts += [" ".join(story.paragraphs[:-1]) for story in stories[:8]]  # trimmed copies
    texts += [" ".join(" ".join(story.paragraphs).split()[:30]) for story in stories[:8]]  # briefs
    misses = 0
    pairs = list(itertools.combinations(texts, 2))
    for a, b in pairs:
        first, second = fingerprint(a), fingerprint(b)
        if first is None or second is None:
            continue
        x, y = shingles(a), shingles(b)
        truth = len(x & y) / len(x | y)
        deviation = 3 * max((truth * (1 - truth) / NUM_PERM) ** 0.5, 0.01)
        misses += abs(similarity(first.minhash, second.minhash) - truth) > deviation
    assert misses <= 0.01 * len(pairs), (misses, len(pairs))
    full, trimmed = fingerprint(texts[0]), fingerprint(texts[16])
    assert similarity(full.minhash, trimmed.minhash) > THRESHOLD
    assert set(band_keys(full.minhash)) & set(band_keys(trimmed.minhash))
    assert similarity(full.minhash, b"not a fingerprint") == 0.0 and band_keys(b"\x00") == []


def test_a_fingerprint_of_an_earlier_release_never_matches() -> None:
    """Fingerprints written by the datasketch releases (scheme 1) carry the same layout: the
    scheme byte keeps them from ever comparing equal to today's, whatever their values."""
    from crawler.parsing.fingerprint import OPH_SCHEME

    today = fingerprint(" ".join(corpus_stories("uk")[0].paragraphs)).minhash
    assert today[12] == OPH_SCHEME
    earlier = today[:12] + bytes([1]) + today[13:]
    assert similarity(today, today) == 1.0 and similarity(today, earlier) == 0.0


def test_no_extraction_process_loads_numpy_for_stories() -> None:
    # What the forkserver preloads for every worker, fingerprint included: numpy and scipy
    # (datasketch's) were 60 MiB in each extraction process.
    code = (
        "import sys\n"
        "import crawler.workers.preload, crawler.stories.fingerprint_warmup\n"
        "from crawler.stories import assign, extension\n"
        "from crawler.parsing.fingerprint import band_keys, fingerprint, similarity\n"
        "print_ = fingerprint(' '.join(f'слово{n}' for n in range(50)))\n"
        "band_keys(print_.minhash); similarity(print_.minhash, print_.minhash)\n"
        "assert not {'numpy', 'scipy', 'datasketch'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_short_text_has_no_fingerprint_and_starts_its_own_story() -> None:
    assert fingerprint("Коротка новина про погоду.") is None
    assert assign_story("c" * 20, [], None, [PendingStories()]).story_id == "c" * 20


def test_editions_come_from_hreflang_links() -> None:
    story = corpus_stories("uk")[0]
    url = "https://pravda.test/news/1.html"
    html = outlet_page(
        OUTLETS[0], story, url, other=("", ""), sidebar=[],
        editions={"uk-UA": url, "ru": "/rus/news/1.html?utm_source=x", "x-default": url, "en": "https://en.test/1"},
    )  # fmt: skip
    article = extract_article(html, ExtractionOptions(url=url, language_hint="uk"))
    assert isinstance(article, Article) and article.language == "uk"
    assert dict(article.editions) == {"ru": "https://pravda.test/rus/news/1.html", "en": "https://en.test/1"}


def _by(records: list[dict], source: str, key: str) -> dict:
    matches = [r for r in records if r["source"] == source and key.replace("/", "-") in r["url"]]
    assert len(matches) == 1, (source, key, [r["url"] for r in records])
    return matches[0]


def test_syndicated_copy_and_editions_share_stories_across_two_runs(tmp_path: Path) -> None:
    uk, ru = corpus_stories("uk"), corpus_stories("ru")
    a1, a2, a3, a4, a5, own = uk[20:26]
    with Site() as site, FakeTranslator() as fake:
        sites = SyndicationSites(site)
        for story, other in ((a1, a2), (a2, a3), (a3, a4), (a4, a1)):
            sites.publish("agency", story, other)
        sites.publish("portal", a1, a3)
        sites.publish("daily", a1, a4)
        sites.publish("portal", a2, a1)
        sites.publish("daily", own, a1)  # the daily's own story on the same day
        e1 = sites.publish_editions("e1", uk[30], ru[30], feeds=("uk",))  # the Russian edition comes later
        e2 = sites.publish_editions("e2", uk[31], ru[31])
        translate = ["-s", "TRANSLATION_PROVIDER=libre", "-s", f"TRANSLATION_URL={fake.url('/translate')}"]
        translate += ["-s", "STORIES_ENABLED=True"]  # the tests' FAST settings leave stories out
        first = run_crawl(tmp_path, sites.sources_yaml(), *translate, "-O", f"{tmp_path / 'one.txt'}:digest")
        assert first.returncode == 0, first.stderr[-3000:]
        one = first.records

        # Next run: the daily takes two of yesterday's agency stories, the Russian edition of
        # e1 is listed, the agency edits a4 and publishes a5, which the portal takes at once.
        sites.publish("daily", a2, own)
        sites.publish("daily", a3, own)
        sites.publish_editions("e1", uk[30], ru[30])
        sites.publish("agency", Story(a4.key, "uk", a4.title, (*a4.paragraphs, "Оновлено: додано коментар.")), a1)
        sites.publish("agency", a5, a1)
        sites.publish("portal", a5, a2)
        second = run_crawl(
            tmp_path, sites.sources_yaml(), *translate, "-O", f"{tmp_path / 'two.txt'}:digest", output="two.jsonl"
        )
        assert second.returncode == 0, second.stderr[-3000:]
        two = second.records
        sent = Counter(fake.texts)

    story = {(r["source"], k): r["story_id"] for r in one + two for k in (r["url"],)}
    # Run 1: one story per agency text, whatever outlet carried it; the daily's own text apart.
    s1 = {_by(one, s, a1.key)["story_id"] for s in ("agency", "portal", "daily")}
    s2 = {_by(one, s, a2.key)["story_id"] for s in ("agency", "portal")}
    assert len(s1) == 1 and len(s2) == 1
    (s1_id,), (s2_id,) = s1, s2
    assert s1_id in {_by(one, s, a1.key)["id"] for s in ("agency", "portal", "daily")}, "the first article names it"
    firsts = [s1_id, s2_id, _by(one, "agency", a3.key)["story_id"], _by(one, "agency", a4.key)["story_id"],
              _by(one, "daily", own.key)["story_id"]]  # fmt: skip
    assert len(set(firsts)) == 5
    # Editions: both present in run 1 share a story and link each other.
    e2_uk, e2_ru = (r for r in one if "/e2.html" in r["url"] and r["source"] in ("pravda", "pravda-ru"))
    assert {e2_uk["source"], e2_ru["source"]} == {"pravda", "pravda-ru"}
    assert e2_uk["story_id"] == e2_ru["story_id"]
    uk_e2 = e2_uk if e2_uk["source"] == "pravda" else e2_ru
    assert uk_e2["editions"] == {"ru": e2["ru"]}

    # Run 2: yesterday's stories are recognised; ids given yesterday do not change.
    assert _by(two, "daily", a2.key)["story_id"] == s2_id
    assert _by(two, "daily", a3.key)["story_id"] == firsts[2]
    edited = _by(two, "agency", a4.key)
    assert edited["revision"] == 2 and edited["story_id"] == firsts[3]
    e1_uk = next(r for r in one if "/e1.html" in r["url"])
    e1_ru = next(r for r in two if "/e1.html" in r["url"])
    assert e1_ru["source"] == "pravda-ru" and e1_ru["story_id"] == e1_uk["story_id"]
    assert e1_ru["editions"] == {"uk": e1["uk"]}
    a5_ids = {_by(two, s, a5.key)["story_id"] for s in ("agency", "portal")}
    assert len(a5_ids) == 1 and not a5_ids & set(firsts)

    # Translation: a paragraph two copies share is sent once, across both runs.
    assert sent and max(sent.values()) == 1, sent.most_common(3)

    # Digest: one entry per story, the copies as links.
    digest = (tmp_path / "one.txt").read_text(encoding="utf-8")
    assert digest.count("Source: ") == len({r["story_id"] for r in one})
    lead = next(r for r in one if r["id"] == s1_id)
    others = [r for r in one if r["story_id"] == s1_id and r is not lead]
    assert f"Also reported by: {others[0]['source']} ({others[0]['canonical_url']})" in digest
    # Whichever edition came first leads; the other is its link.
    assert f"Also in Russian: {e2['ru']}" in digest or f"Also in Ukrainian: {e2['uk']}" in digest
    assert sum(digest.count(f" – {e2[language]}\n") for language in ("uk", "ru")) == 1, "one entry, both links"


def test_the_digest_groups_a_story_and_folds_editions() -> None:
    def record(i: str, source: str, story: str, url: str, language: str = "uk", **extra: object) -> dict:
        return {"id": i, "source": source, "story_id": story, "canonical_url": url, "language": language,
                "title": f"T{i}", "text": f"text {i}", "translation": {"status": "not_needed"}, **extra}  # fmt: skip

    records = [
        record("b", "portal", "a", "https://portal.test/1"),
        record("a", "agency", "a", "https://agency.test/1"),
        record("r", "pravda-ru", "u", "https://p.test/rus/1", "ru", editions={"uk": "https://p.test/1"}),
        record("u", "pravda", "u", "https://p.test/1", editions={"ru": "https://p.test/rus/1"}),
        record("z", "daily", "z", "https://daily.test/9"),
    ]
    groups = story_groups(records)
    assert [g.lead["id"] for g in groups] == ["a", "u", "z"]
    assert [r["id"] for r in groups[0].others] == ["b"] and groups[1].others == []
    assert groups[1].editions == [("ru", "https://p.test/rus/1")]
    text = render_text(groups[0])
    assert "Source: agency – https://agency.test/1\nAlso reported by: portal (https://portal.test/1)" in text
