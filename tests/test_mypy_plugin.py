"""Run mypy with `proxystore.mypy_plugin` on sample files.

Each sample marks the lines where mypy must report something with a
trailing comment: `# N: text` for a `reveal_type` note, `# E: text` for an
error (parts of the message, separated by `...`). Every other line must be
clean.
"""

from __future__ import annotations

import pathlib
import re
import textwrap

import mypy.api
import pytest

from proxystore import mypy_plugin

ROOT = pathlib.Path(__file__).resolve().parents[1]

_EXPECT = re.compile(r'#\s*([NE]):\s*(.*)$')
_OUTPUT = re.compile(r'^[^:]+:(\d+): (note|error): (.*)$')


def _check(
    source: str, tmp_path: pathlib.Path, *, plugin: bool = True
) -> None:
    source = textwrap.dedent(source)
    sample = tmp_path / 'sample.py'
    sample.write_text(source)
    config = tmp_path / 'mypy.ini'
    plugins = 'plugins = proxystore.mypy_plugin\n' if plugin else ''
    # mypy cannot follow the editable install's import hook; point it at
    # the source tree.
    config.write_text(
        f'[mypy]\n{plugins}mypy_path = {ROOT}\nfollow_imports = silent\n'
        f'cache_dir = {tmp_path / "cache"}\n',
    )
    stdout, stderr, _ = mypy.api.run(
        ['--config-file', str(config), '--show-error-codes', str(sample)],
    )
    assert stderr == ''
    expected = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match is not None:
            kind = 'note' if match.group(1) == 'N' else 'error'
            expected.append((number, kind, match.group(2).strip()))
    found = []
    for line in stdout.splitlines():
        match = _OUTPUT.match(line)
        if match is not None:
            found.append((int(match.group(1)), match.group(2), match.group(3)))
    assert len(found) == len(expected), stdout
    for (number, kind, text), actual in zip(expected, found, strict=True):
        assert actual[:2] == (number, kind), stdout
        for piece in text.split('...'):
            assert piece.strip() in actual[2], stdout


_BASIC = """
    from proxystore.factory import SimpleFactory
    from proxystore.proxy import Proxy

    class Point:
        x: int

        def norm(self, scale: float) -> float:
            return 0.0

    proxy = Proxy(SimpleFactory('abc'))
    reveal_type(proxy.upper())  # N: Revealed type is "str"
    reveal_type(proxy.split)  # N: def (sep: str | None =, ... list[str]
    proxy.missing  # E: "str" has no attribute "missing"  [attr-defined]
    proxy.upper(1)  # E: Too many arguments for "upper" of "str"  [call-arg]

    point: Proxy[Point] = Proxy(SimpleFactory(Point()))
    reveal_type(point.x)  # N: Revealed type is "int"
    reveal_type(point.norm(2.0))  # N: Revealed type is "float"
    point.norm('no')  # E: "norm" of "Point" ... "str" ... [arg-type]

    either: Proxy[int | str] = Proxy(SimpleFactory(1))
    either.upper()  # E: Item "int" of "int | str" ... [union-attr]
"""


@pytest.mark.timeout(120)
def test_proxy_attributes_come_from_the_target(
    tmp_path: pathlib.Path,
) -> None:
    _check(_BASIC, tmp_path)


_OWN_AND_GENERIC = """
    from typing import TypeVar

    from proxystore.factory import SimpleFactory
    from proxystore.proxy import Proxy

    T = TypeVar('T')

    class Labelled(Proxy[T]):
        label: str

    proxy = Labelled(SimpleFactory(3))
    reveal_type(proxy.label)  # N: Revealed type is "str"
    reveal_type(proxy.bit_length())  # N: Revealed type is "int"

    def generic(p: Proxy[T]) -> None:
        reveal_type(p.anything)  # N: Revealed type is "Any"
"""


@pytest.mark.timeout(120)
def test_subclasses_own_names_and_type_variables(
    tmp_path: pathlib.Path,
) -> None:
    _check(_OWN_AND_GENERIC, tmp_path)


_WITHOUT_PLUGIN = """
    from proxystore.factory import SimpleFactory
    from proxystore.proxy import Proxy

    proxy = Proxy(SimpleFactory('abc'))
    reveal_type(proxy.upper())  # N: Revealed type is "Any"
"""


@pytest.mark.timeout(120)
def test_without_the_plugin_attributes_are_any(
    tmp_path: pathlib.Path,
) -> None:
    _check(_WITHOUT_PLUGIN, tmp_path, plugin=False)


def test_plugin_entry_point_and_names() -> None:
    assert mypy_plugin.plugin('2.0') is mypy_plugin.ProxyStoreMypyPlugin
    assert mypy_plugin.PROXY_TYPES == (
        'proxystore.proxy.Proxy',
        'proxystore.store.ref.BaseRefProxy',
        'proxystore.store.ref.OwnedProxy',
        'proxystore.store.ref.RefProxy',
        'proxystore.store.ref.RefMutProxy',
    )
    from mypy.options import Options

    instance = mypy_plugin.ProxyStoreMypyPlugin(Options())
    assert instance.get_attribute_hook('proxystore.proxy.Proxy.x') is not None
    assert instance.get_attribute_hook('str.x') is None
