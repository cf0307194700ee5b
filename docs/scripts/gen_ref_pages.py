"""Generate one API reference page per public module (mkdocs-gen-files).

Every module and package under `proxystore/` whose dotted path has no
part starting with an underscore gets `reference/<path>.md` holding a
single mkdocstrings directive; `reference/SUMMARY.md` is the navigation
that mkdocs-literate-nav reads. Nothing is listed by hand: a new public
module appears in the reference on the next build.
"""

from __future__ import annotations

import pathlib

import mkdocs_gen_files

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'proxystore'


def public_modules() -> list[tuple[str, ...]]:
    """Dotted-path parts of every public module, sorted."""
    modules = []
    for path in PACKAGE.rglob('*.py'):
        parts = path.relative_to(ROOT).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        elif parts[-1] == '__main__':
            continue
        if any(part.startswith('_') for part in parts):
            continue
        modules.append(parts)
    return sorted(modules)


nav = mkdocs_gen_files.Nav()
for parts in public_modules():
    page = pathlib.Path('reference', *parts).with_suffix('.md')
    nav[parts] = pathlib.Path(*parts).with_suffix('.md').as_posix()
    with mkdocs_gen_files.open(page, 'w') as f:
        f.write(f'# `{".".join(parts)}`\n\n::: {".".join(parts)}\n')
    mkdocs_gen_files.set_edit_path(page, None)

with mkdocs_gen_files.open('reference/SUMMARY.md', 'w') as f:
    f.writelines(nav.build_literate_nav())
