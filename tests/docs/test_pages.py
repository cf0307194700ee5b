"""Every code block of every documentation page is run or accounted for.

Python blocks run here, each in a fresh interpreter in a temporary
directory, unless a test module of the page's area runs them already
(`RUN_ELSEWHERE`). A block is skipped only if the line right before its
fence says why:

* `<!-- illustrative: REASON -->`: cannot run here (the Globus service,
  several hosts, an install command); few per page.
* `<!-- excerpt: PATH -->`: lines of a file that a test runs (e.g. an
  example script); every line of the block must appear in that file.

Placeholders are replaced the way a reader replaces them: `'/tmp/NAME'`
by a fresh temporary directory, Redis's port `6379` by a real
`redis-server`'s, and the endpoint UUID placeholder by a real endpoint's
(whose home directory is `PROXYSTORE_HOME`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

import pytest

from tests.helpers.docs import DOCS
from tests.helpers.docs import ROOT
from tests.helpers.docs import code_blocks
from tests.helpers.scripts import run_example

SHELLS = ('bash', 'console', 'sh')
ENDPOINT_UUID = '5bd7a0c6-6c7e-4bd5-9a5e-8bb7b1bd8f54'

RUN_ELSEWHERE = {
    'proxy.md': 'tests/proxy/test_docs.py',
    'store.md': 'tests/store/test_docs.py',
    'ownership-and-executor.md': 'tests/store/test_docs.py',
    'stream.md': 'tests/stream/test_docs.py',
    'shared-memory.md': 'tests/connectors/test_shm.py',
    'redis-and-multi.md': 'tests/connectors/test_redis.py',
    'endpoints.md': 'tests/endpoint/test_docs.py',
    'globus.md': 'tests/globus/test_docs.py',
    'peering.md': 'tests/p2p/test_docs.py',
}
"""Pages whose Python blocks a test module of their own area runs."""

FOREIGN_SKIPS = {
    ('relay.md', 'python', 0): 'a top-level await with placeholders for an '
    'endpoint UUID, a Globus token and an endpoint secret',
}
"""Blocks of pages another area writes that cannot carry a marker yet."""

_MARKER = re.compile(r'<!-- (illustrative|excerpt): (.+?) -->\n$')


def pages() -> list[str]:
    """Every Markdown page of the site, relative to `docs/`."""
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob('*.md'))


def marker(markdown: str, block: str, language: str) -> tuple[str, str]:
    """The `(kind, detail)` of the marker right before a block, or `('', '')`.

    With the same block text twice on a page, the first one's marker counts.
    """
    before = markdown.split(f'```{language}\n{block}```', 1)[0]
    last_line = before[before.rstrip('\n').rfind('\n') + 1 :]
    found = _MARKER.search(last_line)
    return (found.group(1), found.group(2)) if found else ('', '')


def blocks(language: str) -> list[tuple[str, int, str, str, str]]:
    """`(page, index, code, marker kind, marker detail)` of every block."""
    found = []
    for page in pages():
        markdown = (DOCS / page).read_text()
        for index, code in enumerate(code_blocks(markdown, language)):
            kind, detail = marker(markdown, code, language)
            if (page, language, index) in FOREIGN_SKIPS:
                kind, detail = (
                    'illustrative',
                    FOREIGN_SKIPS[(page, language, index)],
                )
            found.append((page, index, code, kind, detail))
    return found


PYTHON = blocks('python')
RUN_HERE = [
    (page, index, code)
    for page, index, code, kind, _ in PYTHON
    if not kind and page not in RUN_ELSEWHERE
]


def test_blocks_found() -> None:
    assert len(pages()) >= 20
    assert len(RUN_HERE) >= 25


def test_pages_run_elsewhere_are_run_there() -> None:
    for page, module in RUN_ELSEWHERE.items():
        assert page in (ROOT / module).read_text(), (page, module)


def test_excerpts_are_lines_of_files_that_run() -> None:
    excerpts = [b for b in PYTHON if b[3] == 'excerpt']
    assert excerpts
    for page, index, code, _, path in excerpts:
        source = (ROOT / path).read_text()
        lines = [line for line in code.splitlines() if line.strip()]
        missing = [line for line in lines if line not in source]
        assert not missing, f'{page} block {index}: {missing} not in {path}'
        test_names = {'examples/': 'tests/test_examples.py'}
        runner = next(t for p, t in test_names.items() if path.startswith(p))
        assert path.rsplit('/', 1)[-1] in (ROOT / runner).read_text()


def test_every_skipped_block_says_why() -> None:
    skipped: dict[str, int] = {}
    for language in ('python', *SHELLS):
        for page, _, _, kind, detail in blocks(language):
            if kind == 'illustrative':
                assert len(detail) > 20, (page, detail)
                skipped[page] = skipped.get(page, 0) + 1
    # Illustrative blocks stay few: only pages about other hosts or the
    # Globus service have more than two.
    many = {page for page, count in skipped.items() if count > 2}
    assert many <= {'guides/globus-compute.md', 'globus.md'}, skipped


def test_shell_blocks_of_our_pages_are_marked_or_run() -> None:
    # Shell blocks of pages that other areas own are counted in the notes;
    # on these pages each one is marked or run by a test of this package.
    ours = set(pages())
    for language in SHELLS:
        for page, index, code, kind, _ in blocks(language):
            if page in ours and not kind:
                assert code in SHELL_BLOCKS_RUN, (page, index, code)


CLI_BLOCK = next(
    code
    for page, _, code, _, _ in blocks('bash')
    if page == 'guides/debugging-endpoints.md' and 'configure' in code
)
ENDPOINT_PAGE_BLOCKS = [
    code
    for page, _, code, kind, _ in blocks('bash')
    if page == 'endpoints.md' and not kind
]
SHELL_BLOCKS_RUN = {CLI_BLOCK, *ENDPOINT_PAGE_BLOCKS}
"""Shell blocks that a test in this package runs."""


def _stop_endpoint(name: str, env: dict[str, str]) -> None:
    """Stop an endpoint a test started, whatever the test's outcome."""
    subprocess.run(
        [sys.executable, '-m', 'proxystore.endpoint.cli', 'stop', name],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def _run_cli_lines(
    code: str,
    env: dict[str, str],
    replace: dict[str, str],
) -> list[str]:
    """Run each `proxystore-endpoint` line of a block; return the outputs."""
    cli = [sys.executable, '-m', 'proxystore.endpoint.cli']
    outputs = []
    for line in code.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        for placeholder, value in replace.items():
            line = line.replace(placeholder, value)
        words = shlex.split(line)
        assert words[0] == 'proxystore-endpoint', line
        result = subprocess.run(
            [*cli, *words[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (line, result.stderr)
        outputs.append(result.stdout + result.stderr)
    return outputs


@pytest.mark.timeout(180)
def test_endpoint_page_shell_blocks_run(tmp_path: Any) -> None:
    # The endpoints page's blocks in order, each line as written, with a
    # fresh ProxyStore home; the key the page elides is the one `put` gave.
    start, test, stop, curl, relay = ENDPOINT_PAGE_BLOCKS
    env = {**os.environ, 'PROXYSTORE_HOME': str(tmp_path / 'home')}
    try:
        listing = _run_cli_lines(start, env, {})[-1]
        assert 'my-endpoint' in listing and 'RUNNING' in listing
        put = _run_cli_lines(test.split('\n# INFO: Put')[0], env, {})[0]
        key = re.search(r'with key (\S+)', put)
        assert key is not None, put
        got = _run_cli_lines(test, env, {'0b0c9a0e-...': key.group(1)})
        assert 'Result: hello' in got[-1]
        if shutil.which('curl') is not None:
            config_file = tmp_path / 'home' / 'my-endpoint' / 'config.toml'
            config = tomllib.loads(config_file.read_text())
            script = curl.replace('9753', str(config['port'])).replace(
                'python -c',
                f'{shlex.quote(sys.executable)} -c',
            )
            result = subprocess.run(
                ['bash', '-e', '-c', script.rstrip() + ' -f -sS'],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stderr
    finally:
        _stop_endpoint('my-endpoint', env)
    _run_cli_lines(stop, env, {})
    assert not (tmp_path / 'home' / 'my-endpoint').exists()
    # Configuring peering endpoints writes the relay address; nothing is
    # contacted until an endpoint starts.
    _run_cli_lines(relay, env, {})
    for name in ('site-a', 'site-b'):
        text = (tmp_path / 'home' / name / 'config.toml').read_text()
        assert 'ws://relay-host:8700' in text, text


@pytest.mark.timeout(120)
def test_endpoint_cli_block_runs(tmp_path: Any) -> None:
    # Each line as written, with the console script run by this
    # interpreter and a fresh ProxyStore home.
    env = {**os.environ, 'PROXYSTORE_HOME': str(tmp_path)}
    try:
        outputs = _run_cli_lines(CLI_BLOCK, env, {})
    finally:
        _stop_endpoint('my-endpoint', env)
    listing, put, exists = outputs[2], outputs[3], outputs[4]
    assert 'my-endpoint' in listing and 'RUNNING' in listing
    assert 'Put object in endpoint with key' in put
    assert 'Object exists: False' in exists


def _prepare(code: str, request: pytest.FixtureRequest, tmp: Any) -> Any:
    """Replace the placeholders; returns `(code, environment)`."""
    code = re.sub(
        r"'/tmp/([\w.-]+)'",
        lambda m: repr(str(tmp / m.group(1))),
        code,
    )
    env: dict[str, str] = {}
    if '6379' in code:
        redis_server = request.getfixturevalue('redis_server')
        code = code.replace('6379', str(redis_server.port))
    if ENDPOINT_UUID in code:
        endpoint = request.getfixturevalue('shared_endpoint')
        env['PROXYSTORE_HOME'] = request.getfixturevalue('endpoint_home')
        code = code.replace(ENDPOINT_UUID, str(endpoint.uuid))
    return code, env


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ('page', 'index', 'code'),
    RUN_HERE,
    ids=[f'{page}-{index}' for page, index, _ in RUN_HERE],
)
def test_block_runs(
    page: str,
    index: int,
    code: str,
    request: pytest.FixtureRequest,
    tmp_path: Any,
) -> None:
    code, env = _prepare(code, request, tmp_path)
    run_example(code, tmp_path, env, timeout=150)
