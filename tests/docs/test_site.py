"""The documentation site builds with `mkdocs build --strict`.

Strict mode turns every warning into an error: a page missing from the
navigation's files, a broken link or anchor, a docstring cross-reference
that does not resolve. The API reference has one page per public module,
generated from the package (nothing listed by hand).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from tests.helpers.docs import DOCS
from tests.helpers.docs import ROOT

pytest.importorskip('mkdocs')
pytest.importorskip('mkdocstrings')


def public_modules() -> list[str]:
    """Dotted names of every module without a private part."""
    names = []
    for path in (ROOT / 'proxystore').rglob('*.py'):
        parts = list(path.relative_to(ROOT).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        if not any(part.startswith('_') for part in parts):
            names.append('.'.join(parts))
    return sorted(names)


@pytest.fixture(scope='module')
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    out = tmp_path_factory.mktemp('site')
    result = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '-d', str(out)],
        cwd=ROOT,
        env={
            **os.environ,
            'NO_MKDOCS_2_WARNING': '1',
            'DISABLE_MKDOCS_2_WARNING': 'true',
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    yield out


def _nav_files(entries: list[object]) -> Iterator[str]:
    for entry in entries:
        if isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, list):
                    yield from _nav_files(value)
                else:
                    yield str(value)
        else:
            yield str(entry)


@pytest.mark.timeout(300)
def test_site_builds_strict(site: pathlib.Path) -> None:
    assert (site / 'index.html').is_file()
    assert (site / 'guides' / 'parsl' / 'index.html').is_file()


@pytest.mark.timeout(300)
def test_every_public_module_has_a_reference_page(site: pathlib.Path) -> None:
    modules = public_modules()
    assert 'proxystore.store.base' in modules
    assert not [m for m in modules if '._' in m]
    for module in modules:
        page = site / 'reference' / module.replace('.', '/') / 'index.html'
        assert page.is_file(), module
        assert f'id="{module}"' in page.read_text(), module


@pytest.mark.timeout(300)
def test_performance_page_shows_the_charts(site: pathlib.Path) -> None:
    html = (site / 'performance' / 'index.html').read_text()
    charts = sorted((DOCS / 'images').glob('bench-*.png'))
    assert charts
    for chart in charts:
        assert f'images/{chart.name}' in html
        assert (site / 'images' / chart.name).is_file()


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load(  # noqa: S506 (mkdocs.yml has no custom tags)
        (ROOT / 'mkdocs.yml').read_text(),
        Loader=yaml.SafeLoader,
    )
    listed = set(_nav_files(config['nav']))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob('*.md')}
    assert pages - listed == set()
    assert listed - pages == {'reference/'}


def test_readme_says_how_to_build_and_serve_the_site() -> None:
    readme = (ROOT / 'README.md').read_text()
    # `mkdocs serve` builds the same mkdocs.yml that the strict build above
    # checks, after installing the extra that pulls its plugins.
    assert 'python -m pip install -e ".[docs]" && python -m mkdocs serve' in (
        readme
    )
    assert '](docs/coming-from-proxystore.md)' in readme
