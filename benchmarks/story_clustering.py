"""Story clustering on a labelled set built from the corpus's real texts.

    python benchmarks/story_clustering.py [--stored 100000]

The set (see tests/site/syndication.py):
* positives: agency texts (lang-uk/ner-uk «Наші гроші» for uk, factRuEval-2016 for ru)
  republished by two more outlets, each in its own template, with its own headline, the
  last paragraph trimmed and a "read also" block added;
* negatives: the other texts of the same collections, one outlet each. They share topic,
  names and places (procurement notices of one publication; one month of Russian news);
  "hard" pairs below are those sharing at least three capitalised names;
* short items: briefs of 200-300 characters, one outlet each, plus some republished;
* template series: a text with figures and two "next day" reports from the same template,
  every figure changed (exchange rates, the day's losses): near-identical words, three stories.

Every page goes through the crawler's own extraction (trafilatura and all), then the
story assignment the pipeline runs, in a shuffled arrival order. Figures: precision and
recall of "same story" over all pairs, the CPU per article of fingerprint + assignment,
and the cost of a state store holding ``--stored`` earlier fingerprints (disk, lookup
time, memory), compared with datasketch's in-memory MinHashLSH.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.parsing.article import Article, ExtractionOptions, extract_article
from crawler.parsing.fingerprint import fingerprint
from crawler.stories.assign import PendingStories, StoryLookup, assign_story
from tests.site.corpus import SKIP_REASON, have_corpus
from tests.site.syndication import OUTLETS, Story, corpus_stories, outlet_page, short_items

_NAME = re.compile(r"\b[А-ЯІЇЄҐЁ][а-яіїєґё']{3,}")


@dataclass(frozen=True)
class Item:
    gold: str
    group: str  # positive, negative, short, short-positive
    outlet: str
    url: str
    html: str
    language: str


def build_set(positives: int, negatives: int, shorts: int, short_positives: int, series: int) -> list[Item]:
    items: list[Item] = []
    for language in ("uk", "ru"):
        stories = list(corpus_stories(language))
        chosen = {"positive": stories[:positives], "negative": stories[positives : positives + negatives]}
        briefs = short_items(language, shorts + short_positives)
        chosen["short"], chosen["short-positive"] = briefs[:shorts], briefs[shorts:]
        with_figures = [
            s for s in stories[positives + negatives :] if len(_FIGURE.findall(" ".join(s.paragraphs))) >= 4
        ]
        chosen["series"] = [day for story in with_figures[:series] for day in _series(story)]
        for group, members in chosen.items():
            for number, story in enumerate(members):
                outlets = OUTLETS if group in ("positive", "short-positive") else (OUTLETS[number % 3],)
                items += [_item(story, outlet, group, number, stories) for outlet in outlets]
    return items


_FIGURE = re.compile(r"\d+")


def _series(story: Story) -> list[Story]:
    """``story`` and two later reports from its template: every figure changed."""
    days = [story]
    for day in (1, 2):
        paragraphs = tuple(_FIGURE.sub(lambda m, d=day: str(int(m.group()) + 3 * d + 1), p) for p in story.paragraphs)
        days.append(Story(f"{story.key}+{day}", story.language, _FIGURE.sub("X", story.title), paragraphs))
    return days


def _item(story: Story, outlet: object, group: str, number: int, stories: list[Story]) -> Item:
    name, host = outlet.name, outlet.host  # type: ignore[attr-defined]
    url = f"https://{host}/news/{story.key.replace('/', '-')}.html"
    other = stories[(number + 7) % len(stories)]
    sidebar = [
        (s.title, f"https://{host}/news/{s.key.replace('/', '-')}.html") for s in stories[number + 1 : number + 6]
    ]
    html = outlet_page(outlet, story, url, other=(other.title, f"https://{host}/news/x{number}.html"), sidebar=sidebar)  # type: ignore[arg-type]
    return Item(story.key, group, name, url, html, story.language)


def extract(items: list[Item]) -> list[tuple[Item, Article]]:
    extracted = []
    for item in items:
        result = extract_article(item.html, ExtractionOptions(url=item.url, language_hint=item.language))
        if isinstance(result, Article):
            extracted.append((item, result))
        else:
            print(f"  not extracted: {item.url} ({result.reason}: {result.detail})")
    return extracted


def cluster(extracted: list[tuple[Item, Article]], lookups: list[StoryLookup]) -> tuple[dict[str, str], float]:
    """Article URL -> story id, in a shuffled arrival order; and seconds of CPU per article."""
    order = list(extracted)
    random.Random(16).shuffle(order)
    pending = lookups[0]
    assert isinstance(pending, PendingStories)
    stories: dict[str, str] = {}
    spent = 0.0
    for item, article in order:
        started = time.process_time()
        print_ = fingerprint(article.text)  # computed again: the cost counted is the crawler's
        assignment = assign_story(item.url, [], print_, lookups)
        pending.add(item.url, assignment.story_id, [], print_)
        spent += time.process_time() - started
        stories[item.url] = assignment.story_id
    return stories, spent / max(1, len(order))


_GROUPS = {
    "positive": "agency copy in 3 outlets, among themselves",
    "negative": "single-outlet articles, among themselves",
    "short": "briefs < 300 chars, among themselves",
    "short-positive": "republished briefs, among themselves",
    "series": "template series, among themselves",
}


def pair_scores(extracted: list[tuple[Item, Article]], stories: dict[str, str]) -> dict[str, Counter[str]]:
    """Per group of pairs: true/false positives and negatives of "same story"."""
    scores: dict[str, Counter[str]] = {}
    names = {item.url: set(_NAME.findall(article.text)) for item, article in extracted}
    for (a, _), (b, _) in itertools.combinations(extracted, 2):
        gold = a.gold == b.gold
        predicted = stories[a.url] == stories[b.url]
        kind = ("tp" if predicted else "fn") if gold else ("fp" if predicted else "tn")
        groups = ["all pairs"]
        if a.group == b.group and a.group in _GROUPS:
            groups.append(_GROUPS[a.group])
        if not gold and a.language == b.language and len(names[a.url] & names[b.url]) >= 3:
            groups.append("different stories sharing 3+ names")
        for group in groups:
            scores.setdefault(group, Counter())[kind] += 1
    return scores


def report(scores: dict[str, Counter[str]]) -> None:
    print("| pairs | same story (gold) | precision | recall | false merges | missed |")
    print("|---|---|---|---|---|---|")
    for group, c in sorted(scores.items(), key=lambda kv: (kv[0] != "all pairs", kv[0])):
        positives = c["tp"] + c["fn"]
        precision = f"{c['tp'] / (c['tp'] + c['fp']):.4f}" if c["tp"] + c["fp"] else "–"
        recall = f"{c['tp'] / positives:.4f}" if positives else "–"
        total = sum(c.values())
        print(f"| {group} ({total:,}) | {positives:,} | {precision} | {recall} | {c['fp']} | {c['fn']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positives", type=int, default=60, help="syndicated texts per language")
    parser.add_argument("--negatives", type=int, default=90, help="single-outlet texts per language")
    parser.add_argument("--shorts", type=int, default=40, help="single-outlet briefs per language")
    parser.add_argument("--short-positives", type=int, default=10, help="republished briefs per language")
    parser.add_argument("--series", type=int, default=15, help="template series (3 reports each) per language")
    parser.add_argument("--stored", type=int, default=100_000, help="fingerprints in the store for the cost figures")
    args = parser.parse_args()
    if not have_corpus():
        sys.exit(SKIP_REASON)
    items = build_set(args.positives, args.negatives, args.shorts, args.short_positives, args.series)
    started = time.perf_counter()
    extracted = extract(items)
    print(f"{len(items)} pages, {len(extracted)} extracted in {time.perf_counter() - started:.1f} s")
    stories, per_article = cluster(extracted, [PendingStories()])
    for group in ("short", "series"):
        ids = [stories[item.url] for item, _ in extracted if item.group == group]
        print(f"{_GROUPS[group]}: {len(ids)} articles in {len(set(ids))} stories")
    report(pair_scores(extracted, stories))
    print(f"\nCPU per article (fingerprint + assignment, this run only): {per_article * 1000:.2f} ms")
    if args.stored:
        from benchmarks.story_store import store_costs

        store_costs(args.stored, [article for _, article in extracted])


if __name__ == "__main__":
    main()
