"""``python -m docs render`` (``make docs``) and ``python -m docs site`` (``make site``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT, get_settings, refuse_bad_config

DOCS = PROJECT_ROOT / "docs"


def _render(args: argparse.Namespace) -> int:
    from docs.generate import render_all

    outcome = render_all(get_settings(), args.params, args.out)
    for path in outcome.written:
        shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        print(f"wrote {shown}")
    for note in outcome.skipped:
        print(f"not rendered: {note}")
    if outcome.missing:
        print(outcome.missing, file=sys.stderr)
        return 2
    return 0


def _site(args: argparse.Namespace) -> int:
    from docs.site import stage_site

    pages = stage_site(args.out, args.site_dir)
    print(f"staged {len(pages)} pages in {args.out}")
    return 0


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs", description=__doc__)
    commands = parser.add_subparsers(required=True)
    render = commands.add_parser("render", help="render docs/templates from the live system")
    render.add_argument("--params", type=Path, default=PROJECT_ROOT / "params.yaml")
    render.add_argument("--out", type=Path, default=DOCS)
    render.set_defaults(handler=_render)
    site = commands.add_parser("site", help="stage the lessons and documents for mkdocs")
    site.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "site-src")
    site.add_argument("--site-dir", type=Path, default=PROJECT_ROOT / "build" / "site")
    site.set_defaults(handler=_site)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
