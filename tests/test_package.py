from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys
import textwrap
import warnings

import pytest

import proxystore
from proxystore.warnings import ExperimentalWarning

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(code: str, *, path: pathlib.Path | None = None) -> str:
    env_path = [str(path)] if path is not None else []
    code = f'import sys; sys.path[:0] = {env_path!r}\n' + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_version_is_the_distribution_version() -> None:
    assert proxystore.__version__ == importlib.metadata.version('proxystore')


@pytest.mark.timeout(60)
def test_version_follows_the_installed_metadata(
    tmp_path: pathlib.Path,
) -> None:
    # A distribution found first on sys.path decides the version.
    info = tmp_path / 'proxystore-9.8.7.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: proxystore\nVersion: 9.8.7\n',
    )
    out = _run(
        'import proxystore; print(proxystore.__version__)', path=tmp_path
    )
    assert out == '9.8.7'


def test_experimental_warning_is_a_plain_warning() -> None:
    assert issubclass(ExperimentalWarning, Warning)
    assert not issubclass(ExperimentalWarning, UserWarning)
    with pytest.warns(ExperimentalWarning):
        warnings.warn('x', ExperimentalWarning, stacklevel=1)


def test_dim_module_warns_on_import() -> None:
    sys.modules.pop('proxystore.connectors.dim', None)
    with pytest.warns(UserWarning) as record:
        import proxystore.connectors.dim  # noqa: F401
    message = str(record[0].message)
    assert message.startswith(
        'The proxystore.connectors.dim module has moved to ProxyStore '
        'Extensions.',
    )
    assert 'proxystore.ex.connectors.dim' in message
    assert 'pip install proxystore-ex' in message
    # stacklevel=2: the warning points at the importer, not the shim.
    assert not record[0].filename.endswith('dim/__init__.py')


def test_ex_without_the_extensions_package() -> None:
    sys.modules.pop('proxystore.ex', None)
    with pytest.raises(ImportError, match='proxystore-ex') as info:
        import proxystore.ex  # noqa: F401
    assert 'proxystore[extensions]' in str(info.value)


@pytest.mark.timeout(60)
def test_ex_reexports_proxystore_ex(tmp_path: pathlib.Path) -> None:
    package = tmp_path / 'proxystore_ex'
    package.mkdir()
    (package / '__init__.py').write_text(
        "__version__ = '0.0.1'\n__all__ = ['thing']\nthing = 42\n"
        "hidden = 'h'\n",
    )
    out = _run(
        """
        import proxystore.ex as ex
        print(ex.thing, ex.__version__, ex.hidden)
        """,
        path=tmp_path,
    )
    assert out == '42 0.0.1 h'


@pytest.mark.timeout(60)
def test_ex_passes_other_import_errors_through(
    tmp_path: pathlib.Path,
) -> None:
    package = tmp_path / 'proxystore_ex'
    package.mkdir()
    (package / '__init__.py').write_text('import no_such_dependency_xyz\n')
    out = _run(
        """
        try:
            import proxystore.ex
        except ModuleNotFoundError as e:
            print(e.name)
        """,
        path=tmp_path,
    )
    assert out == 'no_such_dependency_xyz'
