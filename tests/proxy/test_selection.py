"""Choosing the core: C when it imports, else Python with a warning."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

from proxystore.proxy import IMPLEMENTATION

CHECK = """
import warnings
{prelude}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import proxystore.proxy as pp
from proxystore.factory import SimpleFactory
p = pp.Proxy(SimpleFactory([1, 2]))
assert len(p) == 2 and p + [3] == [1, 2, 3] and isinstance(p, list)
print(pp.IMPLEMENTATION, len(caught), [str(w.message) for w in caught])
"""

BLOCK_C = """
import sys

class NoCExtension:
    def find_spec(self, name, path=None, target=None):
        if name == 'proxystore.proxy._cproxy':
            raise ModuleNotFoundError(f'No module named {name!r}')
        return None

sys.meta_path.insert(0, NoCExtension())
"""


ROOT = pathlib.Path(__file__).parents[2]


def run(prelude: str, cwd: pathlib.Path | None = None, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, '-c', CHECK.format(prelude=textwrap.dedent(prelude))],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.timeout(120)
def test_unimportable_extension_falls_back_with_one_warning(
    implementation: str,
) -> None:
    if implementation == 'c':
        pytest.skip('one run is enough')
    out = run(BLOCK_C, PROXYSTORE_PURE_PYTHON='')
    name, count, messages = out.split(' ', 2)
    assert name == 'python'
    assert count == '1'
    assert 'using the pure-Python proxy' in messages


@pytest.mark.timeout(120)
def test_environment_variable_forces_python(implementation: str) -> None:
    if implementation == 'c':
        pytest.skip('one run is enough')
    assert run('', PROXYSTORE_PURE_PYTHON='1').startswith('python 0 ')


def test_built_package_uses_the_c_core() -> None:
    if os.environ.get('PROXYSTORE_PURE_PYTHON', '') not in ('', '0'):
        pytest.skip('PROXYSTORE_PURE_PYTHON is set')
    try:
        from proxystore.proxy import _cproxy  # noqa: F401
    except ImportError:  # pragma: no cover (no compiler)
        pytest.skip('C proxy core not built')
    assert IMPLEMENTATION == 'c'


@pytest.mark.timeout(300)
def test_build_without_a_compiler_gives_a_working_python_core(
    implementation: str,
    tmp_path: pathlib.Path,
) -> None:
    if implementation == 'c':
        pytest.skip('one run is enough')
    source = tmp_path / 'source'
    source.mkdir()
    for name in ('setup.py', 'pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / 'proxystore',
        source / 'proxystore',
        ignore=shutil.ignore_patterns('*.so', '*.pyd', '__pycache__'),
    )
    missing = str(tmp_path / 'no-such-compiler')
    build = subprocess.run(
        [sys.executable, 'setup.py', 'build_ext', '--inplace'],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, 'CC': missing, 'LDSHARED': missing},
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert 'building extension "proxystore.proxy._cproxy" failed' in (
        build.stdout + build.stderr
    )
    assert not list((source / 'proxystore').rglob('_cproxy*.so'))

    out = run(
        '', cwd=source, PYTHONPATH=str(source), PROXYSTORE_PURE_PYTHON=''
    )
    name, count, messages = out.split(' ', 2)
    assert name == 'python'
    assert count == '1'
    assert 'C proxy core unavailable' in messages
