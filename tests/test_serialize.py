"""Serialization: round trips, copy/aliasing guarantees, and bad input."""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from proxystore.serialize import SerializationError
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.serialize import serialize_to_buffers
from proxystore.serialize.buffers import allocate
from proxystore.serialize.buffers import byte_view
from proxystore.serialize.buffers import join
from proxystore.serialize.buffers import writable_copy
from tests.helpers.docs import ROOT
from tests.helpers.docs import code_blocks

BYTES_LIKE = [bytes, bytearray, memoryview]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)
nested = st.recursive(
    scalars,
    lambda children: (
        st.lists(children)
        | st.tuples(children, children)
        | st.dictionaries(st.text() | st.integers(), children)
        | st.frozensets(st.integers() | st.text())
    ),
    max_leaves=20,
)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (
            other.x,
            other.y,
        )


def _array_data(array: Any) -> bytes:
    return np.ascontiguousarray(array).tobytes()


def _assert_same_array(result: Any, array: Any) -> None:
    assert type(result) is np.ndarray
    assert result.dtype == array.dtype
    assert result.shape == array.shape
    assert _array_data(result) == _array_data(array)
    assert result.flags.writeable


# Round trips ----------------------------------------------------------------


@given(nested)
def test_round_trip_builtins(obj: Any) -> None:
    data = serialize(obj)
    for make in BYTES_LIKE:
        assert deserialize(make(data)) == obj


@pytest.mark.parametrize(
    'obj',
    [
        b'raw',
        'text',
        {'a': [1, 2.5, None]},
        np.arange(3 << 18, dtype=np.float64).reshape(3, -1),
        np.asfortranarray(np.ones((5, 7), dtype=np.int16)),
        pd.DataFrame({'x': np.arange(1000), 'y': ['s'] * 1000}),
        pl.DataFrame({'x': list(range(100))}),
    ],
    ids=['bytes', 'str', 'dict', 'large-array', 'fortran', 'pandas', 'polars'],
)
def test_buffers_concatenate_to_serialize_output(obj: Any) -> None:
    parts = serialize_to_buffers(obj)
    joined = b''.join(byte_view(part) for part in parts)
    assert joined == bytes(serialize(obj))
    if isinstance(obj, np.ndarray) and obj.nbytes >= 1 << 20:
        # The array data is a view of the array, not a copy.
        assert any(np.shares_memory(np.asarray(p), obj) for p in parts)


@given(st.binary())
def test_bytes_are_not_pickled(value: bytes) -> None:
    data = serialize(value)
    assert type(data) is bytes
    assert data[9:] == value
    assert deserialize(data) == value
    assert type(deserialize(bytearray(data))) is bytes


@given(st.text())
def test_str_is_utf8(value: str) -> None:
    data = serialize(value)
    assert data[9:] == value.encode('utf-8')
    assert deserialize(data) == value


def test_str_with_lone_surrogate() -> None:
    assert deserialize(serialize('a\ud800b')) == 'a\ud800b'


def test_bytes_subclass_keeps_type() -> None:
    class Tagged(bytes):
        pass

    result = deserialize(serialize(Tagged(b'x')))
    assert type(result).__name__ == 'Tagged'


def test_cloudpickle_fallback() -> None:
    offset = 10
    assert deserialize(serialize(lambda x: x + offset))(1) == 11

    def local(x: int) -> int:
        return x * 2

    assert deserialize(serialize(local))(4) == 8
    assert deserialize(serialize(Point(1, 2))) == Point(1, 2)


def test_pandas_with_lambda_uses_cloudpickle() -> None:
    frame = pd.DataFrame({'f': [lambda x: x + 1]})
    assert deserialize(serialize(frame))['f'][0](1) == 2


def test_unserializable_frames() -> None:
    with pytest.raises(SerializationError, match='DataFrame'):
        serialize(pd.DataFrame({'lock': [threading.Lock()]}))
    objects = pl.DataFrame({'o': [object()]}, schema={'o': pl.Object})
    with pytest.raises(SerializationError, match='DataFrame'):
        serialize(objects)


array_dtypes = (
    hnp.scalar_dtypes()
    | hnp.byte_string_dtypes()
    | hnp.unicode_string_dtypes()
    | hnp.nested_dtypes(max_itemsize=64)
)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=array_dtypes,
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0),
    ),
    st.sampled_from(['C', 'F', 'T', 'step']),
)
def test_round_trip_numpy(array: Any, layout: str) -> None:
    if layout == 'F':
        array = np.asfortranarray(array)
    elif layout == 'T':
        array = array.T
    elif layout == 'step' and array.ndim > 0:
        array = array[::2]
    data = serialize(array)
    for make in BYTES_LIKE:
        _assert_same_array(deserialize(make(data)), array)


@pytest.mark.parametrize(
    'array',
    [
        np.array([1, 'a', None], dtype=object),
        np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
        np.arange(24, dtype='>i4').reshape(2, 3, 4)[:, ::-1, 1:],
        np.array(['2020-01-01', 'NaT'], dtype='datetime64[s]'),
        np.zeros((0, 5)),
        np.float64(3.5),
    ],
    ids=['object', 'masked', 'big-endian-strided', 'datetime', 'empty', 'x'],
)
def test_round_trip_numpy_special(array: Any) -> None:
    result = deserialize(serialize(array))
    assert type(result) is type(array)
    np.testing.assert_array_equal(result, array)


@settings(max_examples=50, deadline=None)
@given(
    hpd.data_frames(
        columns=[
            hpd.column('i', dtype=np.int64),
            hpd.column('f', dtype=float),
            hpd.column('s', elements=st.text()),
            hpd.column('n', dtype=np.int32),
            hpd.column('b', dtype=bool),
        ],
        index=hpd.range_indexes(max_size=20),
    ),
)
def test_round_trip_pandas(frame: Any) -> None:
    data = serialize(frame)
    for make in BYTES_LIKE:
        pd.testing.assert_frame_equal(deserialize(make(data)), frame)
    pd.testing.assert_series_equal(
        deserialize(serialize(frame['n'])),
        frame['n'],
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(2**63), 2**63 - 1), st.floats(), st.text()),
        max_size=20,
    ),
)
def test_round_trip_polars(rows: list[tuple[int, float, str]]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={'i': pl.Int64, 'f': pl.Float64, 's': pl.String},
        orient='row',
    )
    data = serialize(frame)
    for make in BYTES_LIKE:
        assert deserialize(make(data)).equals(frame)


# Copies and aliasing --------------------------------------------------------

LARGE_ARRAY = np.arange(1 << 18, dtype=np.float64)  # 2 MiB


@pytest.mark.parametrize('array', [np.arange(10.0), LARGE_ARRAY])
def test_immutable_input_gives_writable_independent_array(
    array: Any,
) -> None:
    data = serialize(array)
    assert memoryview(data).readonly
    result = deserialize(data)
    assert result.flags.writeable
    assert not np.shares_memory(result, np.frombuffer(data, np.uint8))
    result[:] = -1
    np.testing.assert_array_equal(deserialize(data), array)


def test_serialize_does_not_alias_input_array() -> None:
    array = LARGE_ARRAY.copy()
    data = serialize(array)
    array[:] = 0
    np.testing.assert_array_equal(deserialize(data), LARGE_ARRAY)


def _payload_array(obj: Any) -> Any:
    """The large array inside each object of `CONTAINERS`."""
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, dict):
        return obj['nested']
    return obj['a'].to_numpy()


CONTAINERS = {
    'array': LARGE_ARRAY,
    'pickled': {'nested': LARGE_ARRAY},
    'pandas': pd.DataFrame({'a': LARGE_ARRAY}),
}


@pytest.mark.parametrize('obj', CONTAINERS.values(), ids=CONTAINERS.keys())
def test_writable_input_is_handed_over(obj: Any) -> None:
    buffer = bytearray(serialize(obj))
    array = _payload_array(deserialize(buffer))
    assert np.shares_memory(array, np.frombuffer(buffer, np.uint8))
    np.testing.assert_array_equal(array, LARGE_ARRAY)


@pytest.mark.parametrize('obj', CONTAINERS.values(), ids=CONTAINERS.keys())
def test_immutable_input_is_never_aliased(obj: Any) -> None:
    data = serialize(obj)
    array = _payload_array(deserialize(data))
    assert not np.shares_memory(array, np.frombuffer(data, np.uint8))
    if not isinstance(obj, pd.DataFrame):  # pandas hands out read-only views
        assert array.flags.writeable
        array[:] = -1
    np.testing.assert_array_equal(
        _payload_array(deserialize(data)),
        LARGE_ARRAY,
    )


def test_large_payload_is_immutable() -> None:
    data = serialize(b'x' * (2 << 20))
    with pytest.raises(TypeError):
        memoryview(data)[0] = 0


def test_import_is_lazy() -> None:
    code = (
        'import sys, proxystore.serialize as s\n'
        's.deserialize(s.serialize({"a": [1, 2]}))\n'
        'loaded = {"numpy", "pandas", "polars"} & set(sys.modules)\n'
        'assert not loaded, loaded\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)


# Bad input ------------------------------------------------------------------


@pytest.mark.parametrize('data', [b'', bytearray(), memoryview(b'')])
def test_empty_input(data: Any) -> None:
    with pytest.raises(
        SerializationError,
        match="^Unknown identifier b'' for deserialization.$",
    ):
        deserialize(data)


@pytest.mark.parametrize('data', ['text', 42, None, [1, 2], object()])
def test_not_bytes_like(data: Any) -> None:
    with pytest.raises(ValueError) as info:
        deserialize(data)
    assert str(info.value) == (
        f'Expected data to be a bytes-like type, not {type(data)}.'
    )
    assert not isinstance(info.value, SerializationError)


def test_non_contiguous_buffer_is_read() -> None:
    data = serialize({'a': 1})
    spread = np.zeros(2 * len(data), dtype=np.uint8)
    spread[::2] = np.frombuffer(data, dtype=np.uint8)
    assert deserialize(spread.data[::2]) == {'a': 1}


@pytest.mark.parametrize('data', [b'Zsomething', b'PX\nabc', b'PK'])
def test_unknown_identifier(data: bytes) -> None:
    with pytest.raises(
        SerializationError,
        match=f'^Unknown identifier {re.escape(repr(data[:2]))} for',
    ):
        deserialize(data)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=200))
def test_random_bytes_only_raise_serialization_error(data: bytes) -> None:
    try:
        deserialize(data)
    except SerializationError:
        pass


BROKEN = {
    'bytes': b'raw bytes',
    'str': 'hello',
    'numpy': np.arange(100.0),
    'numpy-empty': np.zeros(0),
    'pickle': {'a': [1, 2, 3]},
    'pickle-buffers': {'a': np.arange(100.0)},
    'cloudpickle': lambda: 1,
    'pandas': pd.DataFrame({'a': [1.0, 2.0]}),
    'polars': pl.DataFrame({'a': [1, 2, 3]}),
}


@pytest.mark.parametrize('obj', BROKEN.values(), ids=BROKEN.keys())
def test_valid_identifier_broken_body(obj: Any) -> None:
    # Every frame states its length: no truncation or extension decodes.
    data = serialize(obj)
    corruptions = [
        data[:1],
        data[: len(data) // 2],
        data[:-1],
        data + b'\x00',
        data[:1] + b'\xff' * (len(data) - 1),
    ]
    for broken in corruptions:
        with pytest.raises(SerializationError, match='Failed to deserialize'):
            deserialize(broken)


@pytest.mark.parametrize('size', [0, 1, 5000, 3 << 20])
def test_truncated_bytes_raise_instead_of_returning_wrong_data(
    size: int,
) -> None:
    # Issue 12: `deserialize(serialize(b'x' * 5000)[:10])` returned 9 bytes.
    data = serialize(b'x' * size)
    for cut in sorted({1, 9, 10, len(data) // 2, len(data) - 1}):
        if 0 < cut < len(data):
            with pytest.raises(
                SerializationError,
                match='Failed to deserialize object using the bytes '
                'serializer. .*truncated',
            ):
                deserialize(data[:cut])


IDENTIFIERS = sorted({bytes(serialize(obj))[:1] for obj in BROKEN.values()})


def test_every_path_is_fuzzed() -> None:
    # One sample per serialization path: bytes, str, NumPy, pickle,
    # cloudpickle, pandas, polars.
    assert len(IDENTIFIERS) == 7


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(IDENTIFIERS), st.binary(max_size=300))
def test_random_body_after_each_identifier(
    identifier: bytes,
    body: bytes,
) -> None:
    try:
        deserialize(identifier + body)
    except SerializationError:
        pass


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(BROKEN)),
    st.lists(
        st.tuples(st.integers(min_value=1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_flipped_bytes_only_raise_serialization_error(
    name: str,
    flips: list[tuple[int, int]],
) -> None:
    # Before checksums and literal NumPy metadata, some of these inputs
    # crashed the interpreter (a corrupted dtype) or leaked a polars
    # PanicException (a BaseException).
    data = bytearray(serialize(BROKEN[name]))
    for position, value in flips:
        data[1 + position % (len(data) - 1)] = value
    for make in BYTES_LIKE:
        try:
            deserialize(make(bytes(data)))
        except SerializationError:
            pass


@pytest.mark.parametrize('name', sorted(BROKEN))
def test_every_single_byte_corruption(name: str) -> None:
    # Deterministic companion of the property above: each position in
    # turn. Polars panics (in Rust) on some of these.
    data = bytes(serialize(BROKEN[name]))
    for position in range(1, len(data)):
        broken = bytearray(data)
        broken[position] ^= 0xFF
        try:
            deserialize(bytes(broken))
        except SerializationError:
            pass


def test_corrupted_pickle_stream_is_never_unpickled() -> None:
    data = bytearray(serialize({'a': [1, 2, 3]}))
    data[-3] ^= 0xFF
    with pytest.raises(SerializationError, match='checksum'):
        deserialize(bytes(data))


def test_numpy_metadata_cannot_name_object_dtype() -> None:
    data = bytes(serialize(np.arange(3, dtype='<i8')))
    assert data.count(b"'<i8'") == 1
    with pytest.raises(SerializationError, match='Python objects'):
        deserialize(data.replace(b"'<i8'", b"'|O8'"))


def test_numpy_metadata_with_impossible_shape() -> None:
    # Zero elements, so the length checks pass; numpy refuses the shape.
    data = bytes(serialize(np.zeros((0, 10**18))))
    assert data.count(b'1000000000000000000') == 1
    broken = data.replace(b'1000000000000000000', b'9999999999999999999')
    with pytest.raises(SerializationError, match='shape'):
        deserialize(broken)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b))
    except Exception:
        return False


@pytest.mark.parametrize(
    'obj',
    [threading.Lock(), (x for x in range(3))],
    ids=['lock', 'generator'],
)
def test_unserializable(obj: Any) -> None:
    with pytest.raises(SerializationError) as info:
        serialize(obj)
    assert str(info.value) == f'Object of type {type(obj)} is not supported.'
    assert info.value.__cause__ is not None


# proxystore.serialize.buffers ----------------------------------------------


@pytest.mark.parametrize('size', [0, 10, 3 << 20])
def test_allocate_is_zeroed_and_writable(size: int) -> None:
    buffer = allocate(size)
    view = memoryview(buffer)
    assert view.nbytes == size and not view.readonly
    assert bytes(view[:16]) == bytes(min(size, 16))
    if size:
        view[-1] = 7
        assert view[-1] == 7


@pytest.mark.parametrize('size', [10, 3 << 20])
def test_join_and_writable_copy(size: int) -> None:
    half = b'x' * (size // 2)
    joined = join([b'', half, memoryview(bytearray(half))])
    assert memoryview(joined).readonly
    assert bytes(joined) == half * 2
    copied = writable_copy(joined)
    memoryview(copied)[0] = 0
    assert bytes(joined) == half * 2


def test_byte_view() -> None:
    assert byte_view(b'ab').tolist() == [97, 98]
    assert byte_view(np.arange(2, dtype=np.uint16)).nbytes == 4
    assert bytes(byte_view(memoryview(b'a-b')[::2])) == b'ab'
    with pytest.raises(TypeError):
        byte_view('text')  # type: ignore[arg-type]


def test_serialization_doc_examples_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = (ROOT / 'docs' / 'serialization-and-connectors.md').read_text()
    section = doc.split('## Serialization', 1)[1].split('\n## ', 1)[0]
    blocks = code_blocks(section)
    assert len(blocks) >= 3
    for block in blocks:
        exec(block, {})
    # Four bad inputs and one unserializable object, each a clear error.
    assert len(capsys.readouterr().out.splitlines()) == 5


# Upstream compatibility -----------------------------------------------------


def test_bytes_like_names() -> None:
    from proxystore.serialize import BytesLike
    from proxystore.serialize import is_bytes_like

    for obj in (b'x', bytearray(b'x'), memoryview(b'x')):
        assert is_bytes_like(obj)
    for other in ('x', 1, None, [b'x']):
        assert not is_bytes_like(other)
    assert BytesLike is not None


@pytest.mark.parametrize('size', [10, 3 << 20])
def test_serialize_always_returns_bytes(size: int) -> None:
    for obj in (b'x' * size, np.zeros(size, dtype=np.uint8), [b'x' * size]):
        data = serialize(obj)
        assert type(data) is bytes
        assert data == b''.join(
            byte_view(p) for p in serialize_to_buffers(obj)
        )


def _pickled(dump: Any, obj: Any) -> bytes:
    sink = io.BytesIO()
    dump(obj, sink, protocol=5)
    return sink.getvalue()


def _upstream_frames(size: int) -> dict[str, tuple[bytes, Any]]:
    """Objects framed the way upstream ProxyStore writes them."""
    import cloudpickle  # type: ignore[import-untyped]

    array = np.arange(size, dtype=np.float64)
    numpy_sink = io.BytesIO()
    np.save(numpy_sink, array, allow_pickle=True)
    objects = np.array([1, 'a', None] * size, dtype=object)
    objects_sink = io.BytesIO()
    np.save(objects_sink, objects, allow_pickle=True)
    frame = pd.DataFrame({'a': array})
    pandas_sink = io.BytesIO()
    frame.to_pickle(pandas_sink, protocol=5)
    polars_frame = pl.DataFrame({'a': array})
    polars_sink = io.BytesIO()
    polars_frame.write_ipc(polars_sink)
    nested = {'k': list(range(size))}
    return {
        'bytes': (b'BS\n' + b'y' * size, b'y' * size),
        'string': (b'US\n' + 'é'.encode() * size, 'é' * size),
        'numpy': (b'NP\n' + numpy_sink.getvalue(), array),
        'numpy-objects': (b'NP\n' + objects_sink.getvalue(), objects),
        'pandas': (b'PD\n' + pandas_sink.getvalue(), frame),
        'polars': (b'PL\n' + polars_sink.getvalue(), polars_frame),
        'pickle': (b'PK\n' + _pickled(pickle.dump, nested), nested),
        'cloudpickle': (
            b'CP\n' + _pickled(cloudpickle.dump, Point(size, 1)),
            Point(size, 1),
        ),
    }


def _same(result: Any, expected: Any) -> bool:
    if isinstance(expected, np.ndarray):
        return bool(np.array_equal(result, expected))
    if isinstance(expected, (pd.DataFrame, pl.DataFrame)):
        return bool(result.equals(expected))
    return bool(result == expected)


@pytest.mark.parametrize('size', [3, 300_000])
def test_reads_upstream_framing(size: int) -> None:
    for name, (data, expected) in _upstream_frames(size).items():
        for make in BYTES_LIKE:
            assert _same(deserialize(make(data)), expected), name


def test_broken_upstream_frame_names_its_serializer() -> None:
    frames = _upstream_frames(3)
    for name in ('numpy', 'pandas', 'polars', 'pickle', 'cloudpickle'):
        data = frames[name][0]
        serializer = name.split('-')[0]
        with pytest.raises(
            SerializationError,
            match=f'^Failed to deserialize object using the {serializer} '
            'serializer.',
        ):
            deserialize(data[: len(data) // 2])
    with pytest.raises(SerializationError, match='the string serializer'):
        deserialize(b'US\n\xff')


@pytest.mark.parametrize('obj', BROKEN.values(), ids=BROKEN.keys())
def test_broken_frame_names_its_serializer(obj: Any) -> None:
    names = {
        bytes: 'bytes',
        str: 'string',
        np.ndarray: 'numpy',
        pd.DataFrame: 'pandas',
        pl.DataFrame: 'polars',
    }
    name = names.get(type(obj), 'cloudpickle' if callable(obj) else 'pickle')
    with pytest.raises(
        SerializationError,
        match=f'^Failed to deserialize object using the {name} serializer.',
    ):
        deserialize(serialize(obj)[:-1])


def test_pickle_functions_are_looked_up_when_called() -> None:
    from unittest import mock

    data = serialize({'a': 1})
    with mock.patch('pickle.load', side_effect=RuntimeError('patched')):
        with pytest.raises(SerializationError, match='patched'):
            deserialize(data)
    with mock.patch('pickle.dump', side_effect=RuntimeError('no pickle')):
        with mock.patch(
            'cloudpickle.dump',
            side_effect=RuntimeError('no cloudpickle'),
        ) as dump:
            with pytest.raises(SerializationError, match='not supported'):
                serialize({'a': 1})
    assert dump.called
    assert deserialize(data) == {'a': 1}


def test_large_pickle_stream_is_read_in_place() -> None:
    obj = {'blob': b'z' * (3 << 20), 'n': list(range(10))}
    data = serialize(obj)
    for make in BYTES_LIKE:
        assert deserialize(make(data)) == obj


def test_join_bytes_holds_one_reference() -> None:
    from proxystore.serialize._bytes import join_bytes

    result = join_bytes([b'a' * (2 << 20), memoryview(b'bc'), bytearray(1)])
    assert type(result) is bytes
    assert sys.getrefcount(result) == 2  # `result` and the call's argument
    assert result == b'a' * (2 << 20) + b'bc\x00'


def test_view_reader_is_a_binary_file() -> None:
    from proxystore.serialize._pickled import ViewReader

    reader = ViewReader(memoryview(b'ab\ncd' + b'e' * 5000 + b'\nf'))
    assert reader.readline() == b'ab\n'
    target = bytearray(2)
    assert reader.readinto(target) == 2 and target == b'cd'
    assert reader.tell() == 5
    assert reader.readline() == b'e' * 5000 + b'\n'
    assert reader.read() == b'f'
    assert reader.read(3) == b'' and reader.readline() == b''
    assert reader.seek(-2, 2) == 5005 and reader.read(1) == b'\n'
    assert reader.seek(1) == 1 and reader.read(2) == b'b\n'
