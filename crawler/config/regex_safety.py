"""Reject `follow:` patterns that can backtrack catastrophically.

Python's ``re`` cannot be interrupted, so a pattern such as ``(a+)+$`` applied
to a long hostile URL would freeze the crawl. The sources file is checked once:
an unbounded repeat that contains another unbounded repeat (star height > 1),
or that repeats alternatives which can start with the same character, is
refused. URLs longer than ``MAX_URL_LENGTH`` are never matched at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

__all__ = ["RegexProblem", "check_follow_pattern"]

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
_POSSESSIVE = getattr(sre_constants, "POSSESSIVE_REPEAT", None)
# Repeats bounded this low cannot blow up on their own.
_SMALL = 16


@dataclass(frozen=True, slots=True)
class RegexProblem:
    message: str


def _is_unbounded(hi: int) -> bool:
    return hi is sre_constants.MAXREPEAT or hi > _SMALL


def _first_chars(items: Any) -> set[int] | None:
    """Characters a sub-pattern can start with; None means 'could be anything'."""
    for op, av in items:
        if op is sre_constants.LITERAL:
            return {av}
        if op in (sre_constants.AT,):
            continue
        if op is sre_constants.SUBPATTERN:
            return _first_chars(av[-1])
        if op is sre_constants.IN:
            chars: set[int] = set()
            for in_op, in_av in av:
                if in_op is sre_constants.LITERAL:
                    chars.add(in_av)
                elif in_op is sre_constants.RANGE and in_av[1] - in_av[0] < 512:
                    chars.update(range(in_av[0], in_av[1] + 1))
                else:
                    return None
            return chars
        return None
    return set()


def _leading_literal(items: Any) -> int | None:
    for op, av in items:
        if op is sre_constants.LITERAL:
            return av
        if op is sre_constants.SUBPATTERN:
            return _leading_literal(av[-1])
        return None
    return None


_CATEGORY_TESTS = {
    sre_constants.CATEGORY_DIGIT: str.isdigit,
    sre_constants.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
    sre_constants.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    sre_constants.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
    sre_constants.CATEGORY_SPACE: str.isspace,
    sre_constants.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
}


def _in_matches(items: Any, ch: str) -> bool | None:
    """Whether a character class matches ``ch``; None when unsure."""
    negate = False
    hit = False
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            hit |= av == ord(ch)
        elif op is sre_constants.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op is sre_constants.CATEGORY and av in _CATEGORY_TESTS:
            hit |= bool(_CATEGORY_TESTS[av](ch))
        else:
            return None
    return hit != negate


def _can_match(items: Any, code: int) -> bool:
    """Whether any single-character element of ``items`` can consume chr(code)."""
    ch = chr(code)
    for op, av in items:
        if op is sre_constants.LITERAL:
            if av == code:
                return True
        elif op is sre_constants.NOT_LITERAL:
            if av != code:
                return True
        elif op is sre_constants.IN:
            if _in_matches(av, ch) is not False:
                return True
        elif op in _REPEATS or (_POSSESSIVE is not None and op is _POSSESSIVE):
            if _can_match(av[2], code):
                return True
        elif op is sre_constants.SUBPATTERN:
            if _can_match(av[-1], code):
                return True
        elif op is sre_constants.BRANCH:
            if any(_can_match(alt, code) for alt in av[1]):
                return True
        elif op not in (sre_constants.AT,):
            return True  # ANY and anything unusual: assume the worst
    return False


def _walk(items: Any, inside_unbounded: bool | int) -> str | None:
    """Find a dangerous construct. ``inside_unbounded`` is False outside any
    unbounded repeat, True inside an ambiguous one, or the code of the literal
    that starts each round of the enclosing repeat."""
    for op, av in items:
        if op in _REPEATS or (_POSSESSIVE is not None and op is _POSSESSIVE):
            _, hi, sub = av
            unbounded = _is_unbounded(hi) and op is not _POSSESSIVE
            if unbounded:
                nested = inside_unbounded is True or (
                    inside_unbounded is not False and _can_match(sub, int(inside_unbounded))
                )
                if nested:
                    return "nested unbounded repeats (such as (a+)+) can take forever on long URLs"
                if _ambiguous_branch(sub):
                    return "a repeated group of alternatives that can match the same text can take forever on long URLs"
                # (?:/[a-z-]+)+ is safe: every round starts with "/", which the inner
                # repeat cannot eat, so there is only one way to split the input.
                delimiter = _leading_literal(sub)
                inner: bool | int = True if delimiter is None else delimiter
            else:
                inner = inside_unbounded
            found = _walk(sub, inner)
            if found:
                return found
        elif op is sre_constants.SUBPATTERN:
            found = _walk(av[-1], inside_unbounded)
            if found:
                return found
        elif op is sre_constants.BRANCH:
            for alt in av[1]:
                found = _walk(alt, inside_unbounded)
                if found:
                    return found
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _walk(av[1], inside_unbounded)
            if found:
                return found
        elif op is sre_constants.GROUPREF:
            return "back-references are not supported in follow patterns"
    return None


def _ambiguous_branch(items: Any) -> bool:
    """True when a repeated body holds alternatives that can start alike (or be empty)."""
    for op, av in items:
        if op is sre_constants.SUBPATTERN and _ambiguous_branch(av[-1]):
            return True
        if op is sre_constants.BRANCH and _overlap([_first_chars(alt) for alt in av[1]]):
            return True
    return False


def _overlap(starts: list[set[int] | None]) -> bool:
    seen: set[int] = set()
    for chars in starts:
        if chars is None or chars & seen or not chars:
            return True
        seen |= chars
    return False


def check_follow_pattern(pattern: str) -> re.Pattern[str] | RegexProblem:
    """Compile ``pattern`` or say why it cannot be used."""
    if len(pattern) > 1000:
        return RegexProblem("the pattern is longer than 1000 characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return RegexProblem(f"not a valid regular expression ({exc})")
    try:
        problem = _walk(sre_parse.parse(pattern), False)
    except RecursionError:
        # Too deeply nested to walk: nothing says it is safe, so it is not accepted.
        problem = "the pattern is nested too deeply to be checked for catastrophic backtracking"
    if problem:
        return RegexProblem(problem)
    return compiled
