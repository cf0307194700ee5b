from __future__ import annotations

import proxystore.utils
from proxystore.utils import data
from proxystore.utils import environment
from proxystore.utils import imports


def test_package_reexports_the_helpers() -> None:
    assert proxystore.utils.bytes_to_readable is data.bytes_to_readable
    assert proxystore.utils.chunk_bytes is data.chunk_bytes
    assert proxystore.utils.readable_to_bytes is data.readable_to_bytes
    assert proxystore.utils.home_dir is environment.home_dir
    assert proxystore.utils.hostname is environment.hostname
    assert proxystore.utils.get_object_path is imports.get_object_path
    assert proxystore.utils.import_from_path is imports.import_from_path
    assert set(proxystore.utils.__all__) == {
        'bytes_to_readable',
        'chunk_bytes',
        'get_object_path',
        'home_dir',
        'hostname',
        'import_from_path',
        'readable_to_bytes',
    }
