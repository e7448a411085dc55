"""``digest FILE``: an output file for reading (``--markdown``, ``--original``), the latest
record per article winning; given a distributed run's ``….manifest.json``, every shard file
it names."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from crawler.commands.sources.action import About, ActionParser, Context, refuse, write_output
from crawler.exit_codes import EXIT_CONFIG_ERROR, EXIT_OK

__all__ = ["Digest"]


class Digest:
    about = About(
        "digest",
        "digest FILE [--markdown] [--original] [--output OUT]",
        (
            ("digest FILE", "render an output file (or a run's manifest) for reading;"),
            ("", "--markdown, --original, --output OUT"),
        ),
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("file", metavar="FILE", help="a JSON lines output file or a run's manifest")
        parser.add_argument("--markdown", action="store_true", help="Markdown instead of plain text")
        parser.add_argument("--original", action="store_true", help="add the original-language text")
        parser.add_argument("--output", metavar="OUT", help="write here instead of standard output")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.output.digest import latest_records, render_all

        path = Path(args.file)
        try:
            records = latest_records(_output_lines(path))
        except OSError as exc:
            return refuse(f"cannot read {exc.filename or path}: {exc.strerror}", EXIT_CONFIG_ERROR)
        except ValueError as exc:
            return refuse(f"{path} is not a run manifest: {exc}", EXIT_CONFIG_ERROR)
        text = "".join(render_all(records, markdown=args.markdown, original=args.original))
        text = text or f"No articles in {path}.\n"
        if not args.output:
            sys.stdout.write(text)
            return EXIT_OK
        target = Path(args.output)
        if (failed := write_output(target, text)) is not None:
            return failed
        print(f"{len(records)} articles written to {target}")
        return EXIT_OK


def _output_lines(path: Path) -> Iterator[str]:
    """The lines of a JSON lines output, or of every file a distributed run's manifest names."""
    from crawler.distributed.manifest import MANIFEST_SUFFIX, manifest_files

    if not path.name.endswith(MANIFEST_SUFFIX):
        with path.open(encoding="utf-8") as lines:
            yield from lines
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or "files" not in manifest:
        raise ValueError("it names no files")
    for file in manifest_files(manifest, path):
        with file.open(encoding="utf-8") as lines:
            yield from lines
