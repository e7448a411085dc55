"""YAML read with the line of every value, and the problems found in it: what the sources file
(crawler/config/sources_file.py) and the watchlists file (crawler/config/watchlists_file.py)
share, so both report a mistake as FILE:LINE, what it is in, which key, and what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crawler.config.date_templates import is_template, template_problem
from crawler.parsing.urls import is_public_http_url_syntax

__all__ = [
    "MAX_FILE_BYTES", "MAX_NODES", "Problem", "Validator", "Value", "close_match", "parse_yaml", "read_yaml", "show",
]  # fmt: skip

# A configuration file is a few kilobytes; anything this large is a mistake or an attack.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Bounds the work an alias bomb ("billion laughs" made of YAML anchors) can cause.
MAX_NODES = 200_000


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake: where (line), in what (a source, a watchlist: ``subject`` says which), which key."""

    line: int | None
    source: str | None
    key: str | None
    message: str
    subject: str = "source"

    def format(self, path: Path | str) -> str:
        where = f"{path}:{self.line}" if self.line else f"{path}"
        parts = []
        if self.source:
            parts.append(f"{self.subject} {self.source!r}")
        if self.key:
            parts.append(f"key {self.key!r}")
        context = ", ".join(parts)
        return f"{where}: {context + ': ' if context else ''}{self.message}"


# --- YAML with line numbers -------------------------------------------------


@dataclass(slots=True)
class Value:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


class _Reader:
    """Turns a composed YAML node graph into ``Value`` trees, bounding the work."""

    def __init__(self) -> None:
        self._loader = yaml.SafeLoader("")
        self._nodes = 0

    def read(self, node: yaml.Node) -> Value:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _TooLargeError(node.start_mark.line + 1)
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self._loader.flatten_mapping(node)
            result: dict[str, tuple[Value, Value]] = {}
            for key_node, value_node in node.value:
                key = self.read(key_node)
                result[str(key.value)] = (key, self.read(value_node))
            return Value(result, line)
        if isinstance(node, yaml.SequenceNode):
            return Value([self.read(item) for item in node.value], line)
        return Value(self._loader.construct_object(node, deep=True), line)


class _TooLargeError(Exception):
    def __init__(self, line: int):
        self.line = line


def parse_yaml(path: Path, text: str) -> Value | Problem | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
            problem = "a tab character is not allowed in YAML indentation; indent with spaces"
        else:
            problem = f"YAML syntax error: {problem}"
        return Problem(line, None, None, problem)
    except yaml.YAMLError as exc:
        return Problem(None, None, None, f"YAML error: {exc}")
    if node is None:
        return None
    try:
        return _Reader().read(node)
    except _TooLargeError as exc:
        return Problem(
            exc.line,
            None,
            None,
            f"the file expands to more than {MAX_NODES} values (an alias/anchor bomb?)",
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return Problem(mark.line + 1 if mark else None, None, None, f"YAML error: {exc}")


class Validator:
    """Collects every problem of a file; ``source`` is the entry (a source, a watchlist) being read."""

    def __init__(self, subject: str = "source") -> None:
        self.problems: list[Problem] = []
        self.source: str | None = None
        self.subject = subject

    def error(self, line: int | None, key: str | None, message: str) -> None:
        self.problems.append(Problem(line, self.source, key, message, self.subject))

    # scalar checks return None after recording a problem

    def bool_(self, v: Value, key: str) -> bool | None:
        if isinstance(v.value, bool):
            return v.value
        self.error(v.line, key, f"expected true or false, got {show(v.value)}")
        return None

    def str_(self, v: Value, key: str) -> str | None:
        if isinstance(v.value, str) and v.value.strip():
            return v.value.strip()
        self.error(v.line, key, f"expected a non-empty string, got {show(v.value)}")
        return None

    def url(self, v: Value, key: str, templates: bool = False) -> str | None:
        """An absolute http(s) URL; with ``templates``, one that may carry {date:FORMAT} fields."""
        text = self.str_(v, key)
        if text is None:
            return None
        if is_template(text) or "{" in text:
            problem = template_problem(text) if templates else "a {date:…} template works in sitemaps and listings only"
            if problem:
                self.error(v.line, key, f"{text!r}: {problem}")
                return None
            return text
        problem = is_public_http_url_syntax(text)
        if problem:
            self.error(v.line, key, f"{text!r} is not a valid URL: {problem}")
            return None
        return text

    def list_(self, v: Value, key: str) -> list[Value] | None:
        if isinstance(v.value, list):
            return v.value
        if isinstance(v.value, str):
            # A single URL where a list is expected is a common slip; accept it.
            return [v]
        self.error(v.line, key, f"expected a list, got {show(v.value)}")
        return None

    def mapping(self, v: Value, key: str | None) -> dict[str, tuple[Value, Value]] | None:
        if isinstance(v.value, dict):
            return v.value
        self.error(v.line, key, f"expected a mapping (key: value), got {show(v.value)}")
        return None


def show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    return f"the {type(value).__name__} {value!r}"


def close_match(key: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def read_yaml(path: Path, missing: str) -> Value | Problem | None:
    """The file's YAML with lines, the one problem that stops reading it, or None when it is empty;
    ``missing`` is what to say when there is no such file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Problem(None, None, None, missing)
    except OSError as exc:
        return Problem(None, None, None, f"cannot read: {exc.strerror}")
    if size > MAX_FILE_BYTES:
        return Problem(None, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Problem(None, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return Problem(None, None, None, f"cannot read: {exc.strerror}")
    return parse_yaml(path, text)
