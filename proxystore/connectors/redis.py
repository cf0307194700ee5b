"""Redis connector: objects live on a Redis (or KeyDB/Valkey) server.

Redis is the usual way to share objects across hosts: every process that
can reach the server can resolve a proxy. The connector talks to the server
with [redis-py](https://github.com/redis/redis-py) (and its `hiredis`
parser when installed).

Storage layout, per object key `K`:

* An object up to the server's bulk-string limit (`proto-max-bulk-len`,
  512 MiB by default) is a string at `K`.
* A larger object is a list of chunks at `K`, plus a string `K::chunks`
  holding the number of chunks. All its commands are sent as one
  `MULTI`/`EXEC` transaction, which the server applies at once, so neither
  `get` nor `exists` sees a partially written object; and if the writer
  dies (or its connection drops) before `EXEC`, the server discards the
  queued commands, so a killed writer leaves nothing behind. The server
  holds the queued chunks until `EXEC` and then copies them into the
  list, so storing a chunked object briefly takes about twice its size
  in server memory. Redis evicts keys whole, so losing either key under
  memory pressure makes the object read as missing, never as truncated.

Earlier versions built chunk lists at `K::partial` and renamed them once
complete; a killed writer left its `K::partial` behind. Writing or
evicting `K`, and clearing the namespace, remove such keys.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from typing_extensions import Buffer

from proxystore.connectors._redis_reply import read_mget_reply
from proxystore.utils.buffers import byte_views
from proxystore.utils.closing import CloseOnExit

__all__ = ['RedisConnector', 'RedisConnectorError', 'RedisKey']

logger = logging.getLogger(__name__)

MIN_BULK_LIMIT = 1024 * 1024
"""Smallest `proto-max-bulk-len` a Redis server accepts (1 MiB).

Objects up to this size never need chunking, so writing them needs no
knowledge of the server's configuration.
"""

DEFAULT_BULK_LIMIT = 512 * 1024 * 1024
"""Redis's default `proto-max-bulk-len`, used when `CONFIG GET` is denied."""

_QUERY_BUFFER_SLACK = 1024 * 1024
"""Room left in the server's query buffer next to one chunk."""

_DELETE_BATCH = 1000
"""Keys per `DEL` command when clearing a connector's keys."""

_CLIENT_DEFAULTS: dict[str, Any] = {
    'socket_connect_timeout': 3.0,
    'socket_timeout': 30.0,
    'socket_read_size': 1024 * 1024,
}
"""redis-py options that differ from redis-py's defaults.

A server that cannot be reached fails within seconds and a stalled one
within `socket_timeout`; large replies are read in big slices. Each can be
overridden per connector (see `_default_retry` for retries).
"""


def _default_retry() -> Retry:
    """Retry dropped connections (server restarted), never timeouts.

    A retried timeout would multiply the wait on a stalled server; a
    dropped connection is retried right away on a new one. Every write
    the connector makes is idempotent, so retrying it is safe.
    """
    return Retry(
        ExponentialBackoff(cap=0.5, base=0.05),
        retries=2,
        supported_errors=(redis.ConnectionError,),
    )


class RedisKey(NamedTuple):
    """Key to an object stored on a Redis server.

    Attributes:
        redis_key: The Redis key of the object.
    """

    redis_key: str


_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

_UUID_GLOB = '????????-????-????-????-????????????*'
"""`SCAN MATCH` pattern of every key an object may occupy (a superset)."""

_NAMESPACE_PATTERN = re.compile(r'[A-Za-z0-9_.-]+')


class _Namespace:
    """The Redis keys a connector's objects may occupy.

    Object keys are `<namespace>:<uuid>` (or a bare UUID without a
    namespace), plus the `::chunks` and `::partial` keys of chunked
    objects. Nothing else on the server is ever read, written or deleted.
    """

    def __init__(self, namespace: str | None) -> None:
        if namespace is not None and not _NAMESPACE_PATTERN.fullmatch(
            namespace,
        ):
            raise ValueError(
                f'Invalid RedisConnector namespace {namespace!r}: use '
                'letters, digits, "_", "." and "-" only.',
            )
        self.prefix = '' if namespace is None else f'{namespace}:'
        escaped = re.escape(self.prefix)
        self.key_pattern = re.compile(escaped + _UUID)
        self.stored_pattern = re.compile(
            (escaped + _UUID + r'(?:::chunks|::partial)?').encode(),
        )
        self.glob = self.prefix + _UUID_GLOB

    def new_name(self) -> str:
        return f'{self.prefix}{uuid.uuid4()}'

    def name(self, key: RedisKey) -> str:
        """The Redis key of `key`, if it is one `new_key()` could have made.

        The check needs no I/O. It bounds the length (a UUID and the
        prefix) and refuses every other character, so nothing that could
        name another key, or that the server or the encoder would refuse
        (NUL, newlines, non-ASCII, unencodable surrogates), gets through.

        Raises:
            ValueError: If `key` is not a `RedisKey` holding a UUID in
                this namespace.
        """
        name = getattr(key, 'redis_key', None)
        if not isinstance(name, str) or not self.key_pattern.fullmatch(name):
            raise ValueError(
                f'Invalid RedisKey redis_key {_shown(name)}: expected '
                f'{self.prefix!r} followed by a lowercase UUID, as made by '
                'RedisConnector.new_key().',
            )
        return name


_SHOWN_CHARACTERS = 60
"""Longest key repr quoted whole in an error message."""


def _shown(name: object) -> str:
    """`repr(name)`, shortened if it is long (a key may be megabytes)."""
    if isinstance(name, (str, bytes)) and len(name) > _SHOWN_CHARACTERS:
        return (
            f'{name[: _SHOWN_CHARACTERS // 2]!r}... ({len(name)} characters)'
        )
    return repr(name)


class RedisConnectorError(redis.exceptions.RedisError):
    """A Redis operation failed (server unreachable, refused, ...)."""


class _Payload:
    """A bytes-like object (or a list of them) sent without copying.

    Each part is a flat, contiguous byte view of the caller's buffer; the
    parts together form one Redis bulk string.
    """

    __slots__ = ('parts', 'size')

    def __init__(self, parts: Sequence[memoryview]) -> None:
        self.parts = tuple(parts)
        self.size = sum(part.nbytes for part in self.parts)

    @classmethod
    def wrap(cls, obj: Buffer | Sequence[Buffer]) -> _Payload:
        """Wrap a bytes-like object or a sequence of bytes-like objects.

        Raises:
            TypeError: If `obj` (or an element of it) is not bytes-like.
        """
        return cls(byte_views(obj))

    def split(self, chunk_size: int) -> list[_Payload]:
        """Split into consecutive payloads of at most `chunk_size` bytes."""
        chunks: list[_Payload] = []
        current: list[memoryview] = []
        room = chunk_size
        for part in self.parts:
            while part.nbytes > 0:
                piece, part = part[:room], part[room:]
                current.append(piece)
                room -= piece.nbytes
                if room == 0:
                    chunks.append(_Payload(current))
                    current, room = [], chunk_size
        if current or not chunks:
            chunks.append(_Payload(current))
        return chunks


_SMALL_ARGUMENT = 16 * 1024
"""Payload parts up to this size are copied into the command header."""

_SEND_SLICE = 4 * 1024 * 1024
"""Largest buffer handed to one `socket.sendall`.

`socket_timeout` bounds each `sendall` call as a whole, so slicing large
payloads lets a slow link take longer than the timeout for a big object.
"""


def _load_hiredis_pack() -> Callable[[tuple[Any, ...]], bytes] | None:
    try:
        import hiredis
    except ImportError:  # pragma: no cover (optional for redis-py)
        return None
    return hiredis.pack_command


_hiredis_pack = _load_hiredis_pack()


class _ZeroCopyPacker:
    """redis-py command packer that sends `_Payload` parts without copying.

    redis-py packs each command into one new `bytes` (with hiredis) or
    copies small values into it, so every stored value would be copied at
    least once more. Commands carrying a `_Payload` are packed here
    instead: the RESP header and small arguments are joined, large payload
    parts are handed to `socket.sendall` as they are. Other commands use
    hiredis's fast packer when it is installed.
    """

    def pack(self, *args: Any) -> list[bytes | memoryview]:
        """Pack a command into RESP, as a list of buffers to send."""
        # redis-py passes multi-word commands ('CONFIG GET') as one string.
        name = args[0].encode() if isinstance(args[0], str) else args[0]
        words = (*name.split(), *args[1:])
        if _hiredis_pack is not None and not any(
            isinstance(word, (_Payload, bytearray, memoryview))
            for word in words
        ):
            return [_hiredis_pack(words)]
        output: list[bytes | memoryview] = []
        pieces: list[Buffer] = [b'*%d\r\n' % len(words)]
        for word in words:
            if isinstance(word, _Payload):
                pieces.append(b'$%d\r\n' % word.size)
                for part in word.parts:
                    if part.nbytes > _SMALL_ARGUMENT:
                        output.append(b''.join(pieces))
                        output.extend(
                            part[start : start + _SEND_SLICE]
                            for start in range(0, part.nbytes, _SEND_SLICE)
                        )
                        pieces = []
                    else:
                        pieces.append(part)
                pieces.append(b'\r\n')
            else:
                value = _encode(word)
                pieces.extend((b'$%d\r\n' % len(value), value, b'\r\n'))
        output.append(b''.join(pieces))
        return output


def _encode(word: Any) -> bytes | bytearray | memoryview:
    """Encode one command argument like redis-py does."""
    if isinstance(word, (bytes, bytearray, memoryview)):
        return word
    if isinstance(word, str):
        return word.encode()
    if isinstance(word, (int, float)) and not isinstance(word, bool):
        return repr(word).encode()
    raise TypeError(f'Cannot send {type(word).__name__} to Redis.')


def _accepts_command_packer() -> bool:
    """Whether this redis-py lets connections use a custom packer."""
    base = getattr(redis.connection, 'AbstractConnection', None)
    if base is None:  # pragma: no cover (redis-py < 5)
        return False
    return 'command_packer' in inspect.signature(base.__init__).parameters


class RedisConnector(CloseOnExit):
    """Connector to a Redis (or KeyDB/Valkey) server.

    Example:
        ```python
        from proxystore.connectors.redis import RedisConnector

        with RedisConnector('localhost', 6379) as connector:
            key = connector.put(b'data')
            assert connector.get(key) == b'data'
        ```

    Batch operations use one round trip. Objects larger than the server's
    bulk-string limit are stored in chunks and reassembled on `get`.

    Object keys are UUIDs, prefixed with `namespace:` if a namespace is
    given. That is the connector's *namespace*: every operation given a
    `RedisKey` outside it raises `ValueError`, so no key reaches other
    data on the server.

    Note:
        Clearing (`clear=True`, or `close(clear=True)`) removes every
        object in the connector's namespace, whichever connector or
        process stored it, and nothing else. Published ProxyStore runs
        `FLUSHDB` instead, which also deletes other applications' keys in
        the database; this connector never does. Give applications that
        share a database their own `namespace` to clear them separately.

    Args:
        hostname: Hostname or IP address of the Redis server.
        port: Port of the Redis server.
        clear: Remove every object in the namespace when the connector is
            closed (see the note above).
        namespace: Prefix of this connector's object keys (letters,
            digits, `_`, `.` and `-`). `None` (the default) stores objects
            under bare UUID keys, as published ProxyStore does.
        kwargs: Extra keyword arguments for
            [`redis.StrictRedis`][redis.StrictRedis], e.g. `password`,
            `username`, `db`, `ssl`, `socket_timeout`. They are part of
            `config()`, so keep them plain (strings, numbers, booleans) if
            the connector is rebuilt in other processes.

    Raises:
        ValueError: If `decode_responses=True` is given, or the namespace
            has other characters.
    """

    accepts_buffer_lists = True
    """`put`/`set` also take a list of buffers, sent without joining."""

    def __init__(
        self,
        hostname: str,
        port: int,
        clear: bool = False,
        *,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get('decode_responses'):
            raise ValueError(
                'RedisConnector stores bytes; decode_responses=True would '
                'turn them into str.',
            )
        self._namespace = _Namespace(namespace)
        self.hostname = hostname
        self.port = port
        self.clear = clear
        self.namespace = namespace
        self._kwargs = kwargs
        self._chunk_size: int | None = None

        options = {**_CLIENT_DEFAULTS, **kwargs}
        options.setdefault('retry', _default_retry())
        self._redis = redis.StrictRedis(host=hostname, port=port, **options)
        if _accepts_command_packer():
            pool_options = self._redis.connection_pool.connection_kwargs
            pool_options['command_packer'] = _ZeroCopyPacker()
        self._direct_replies = _reads_replies_directly(options)
        logger.info('Initialized %r', self)

    def __repr__(self) -> str:
        namespace = (
            '' if self.namespace is None else f', namespace={self.namespace}'
        )
        return (
            f'{type(self).__name__}(hostname={self.hostname}, '
            f'port={self.port}{namespace})'
        )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn redis-py errors into a `RedisConnectorError` with context."""
        where = f'the Redis server at {self.hostname}:{self.port}'
        hint = 'Check that redis-server is running and reachable from here.'
        try:
            yield
        except redis.TimeoutError as e:
            raise RedisConnectorError(
                f'Cannot {action}: {where} did not answer in time ({e}). '
                f'{hint}',
            ) from e
        except redis.ConnectionError as e:
            raise RedisConnectorError(
                f'Cannot {action}: {where} is unreachable ({e}). {hint}',
            ) from e
        except redis.RedisError as e:
            raise RedisConnectorError(
                f'Cannot {action}: {where} refused ({e}).',
            ) from e

    def close(self, clear: bool | None = None) -> None:
        """Close the connection to the server.

        Args:
            clear: Remove every object in this connector's namespace,
                whoever stored it (never other keys). Overrides the
                `clear` given at construction, in both directions.

        Raises:
            RedisConnectorError: If clearing fails (the connection is
                closed all the same).
        """
        try:
            if self.clear if clear is None else clear:
                self._clear_namespace()
        finally:
            self._redis.close()
            self._redis.connection_pool.disconnect()
            logger.info('Closed %r', self)

    def _clear_namespace(self) -> None:
        """Delete every key of the namespace (objects, chunks, partials)."""
        deleted = 0
        with self._errors('clear the namespace'):
            batch: list[bytes] = []
            for name in self._redis.scan_iter(
                match=self._namespace.glob,
                count=_DELETE_BATCH,
            ):
                if self._namespace.stored_pattern.fullmatch(name):
                    batch.append(name)
                if len(batch) >= _DELETE_BATCH:
                    deleted += self._redis.delete(*batch)
                    batch = []
            if batch:
                deleted += self._redis.delete(*batch)
        logger.info(
            'Cleared %d keys in the namespace of %r',
            deleted,
            self,
        )

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        config: dict[str, Any] = {
            'hostname': self.hostname,
            'port': self.port,
            'clear': self.clear,
        }
        if self.namespace is not None:
            config['namespace'] = self.namespace
        return {**config, **self._kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RedisConnector:
        """Create a connector from a `config()` dictionary."""
        return cls(**config)

    def evict(self, key: RedisKey) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        self._delete([self._namespace.name(key)])
        logger.debug('EVICT %s', key)

    def exists(self, key: RedisKey) -> bool:
        """Check whether an object is associated with the key."""
        name = self._namespace.name(key)
        with self._errors(f'check {key}'):
            found = bool(self._redis.exists(name))
        logger.debug('EXISTS %s: %s', key, found)
        return found

    def get(self, key: RedisKey) -> bytes | None:
        """Get the serialized object associated with the key.

        Returns:
            The object, or `None` if it does not exist (never stored,
            evicted, or lost, e.g. by a server restart).
        """
        return self.get_batch([key])[0]

    def get_batch(self, keys: Sequence[RedisKey]) -> list[bytes | None]:
        """Get a batch of serialized objects with a single `MGET`.

        Chunked objects (larger than the server's bulk-string limit) need
        one more round trip for their remaining chunks.

        Returns:
            Objects in the order of `keys`, `None` where missing.
        """
        if not keys:
            return []
        names = [
            name
            for key in keys
            for name in _object_keys(self._namespace.name(key))
        ]
        with self._errors(f'get {len(keys)} object(s)'):
            # A chunked object's list reads as None in MGET; its count
            # string tells it apart from a missing object.
            replies = self._mget(names)
            results = replies[0::2]
            chunked = [
                (i, count)
                for i, count in enumerate(map(_chunk_count, replies[1::2]))
                if count is not None and results[i] is None
            ]
            chunk_lists = self._get_chunk_lists(
                [(names[2 * i], count) for i, count in chunked],
            )
        for (i, count), chunks in zip(chunked, chunk_lists, strict=True):
            # A list of another length was evicted or is being rewritten.
            results[i] = b''.join(chunks) if len(chunks) == count else None
        if logger.isEnabledFor(logging.DEBUG):
            for key, result in zip(keys, results, strict=True):
                logger.debug('GET %s (found=%s)', key, result is not None)
        return results

    def _mget(self, names: list[str]) -> list[bytes | None]:
        """`MGET`, with large values received straight into `bytes`.

        See `proxystore.connectors._redis_reply`. Where that reader does
        not apply (client-side caching), or for batches of many keys
        (mostly small objects, which hiredis parses faster), redis-py
        reads the reply.
        """
        if not self._direct_replies or len(names) > _DIRECT_MGET_NAMES:
            return self._redis.mget(names)  # type: ignore[return-value]
        pool = self._redis.connection_pool
        connection = pool.get_connection()
        try:
            replies: list[bytes | None] = connection.retry.call_with_retry(
                lambda: _mget_on(connection, names),
                lambda error: _drop(connection),
            )
            return replies
        finally:
            pool.release(connection)

    def _get_chunk_lists(
        self,
        lists: Sequence[tuple[str, int]],
    ) -> list[list[bytes]]:
        """Fetch `(name, count)` lists, each up to one more than `count`.

        One element more than expected is enough to tell a list of another
        length; a longer list (damaged, or not ours) is never read whole.
        """
        if not lists:
            return []
        pipeline = self._redis.pipeline(transaction=False)
        for name, count in lists:
            pipeline.lrange(name, 0, count)
        return pipeline.execute()

    def new_key(self, obj: Buffer | None = None) -> RedisKey:
        """Create a new key; `set()` associates an object with it later.

        Args:
            obj: Ignored; any object can be set on any key.
        """
        return RedisKey(redis_key=self._namespace.new_name())

    def put(self, obj: Buffer | Sequence[Buffer]) -> RedisKey:
        """Put a serialized object on the server.

        Args:
            obj: Any bytes-like object (`bytes`, `bytearray`,
                `memoryview`, NumPy array, ...) or a list of them, stored as
                their concatenation. It is sent without intermediate copies.

        Raises:
            TypeError: If `obj` is not bytes-like. Nothing is stored.
            RedisConnectorError: If the server is unreachable or refuses.
        """
        return self.put_batch([obj])[0]

    def put_batch(
        self,
        objs: Sequence[Buffer | Sequence[Buffer]],
    ) -> list[RedisKey]:
        """Put a batch of serialized objects with a single `MSET`.

        Objects larger than the server's bulk-string limit are chunked;
        all commands still go to the server in one round trip.

        Raises:
            TypeError: If any object is not bytes-like. Nothing is stored.
        """
        payloads = [_Payload.wrap(obj) for obj in objs]
        keys = [self.new_key() for _ in payloads]
        self._write(keys, payloads)
        if logger.isEnabledFor(logging.DEBUG):
            for key in keys:
                logger.debug('PUT %s', key)
        return keys

    def set(self, key: RedisKey, obj: Buffer | Sequence[Buffer]) -> None:
        """Associate an object with a key from `new_key()`.

        An object already under the key is replaced whole (with its
        chunks, if it had any).

        Raises:
            TypeError: If `obj` is not bytes-like. Nothing is stored.
        """
        self._write([key], [_Payload.wrap(obj)], replace=True)
        logger.debug('SET %s', key)

    def _write(
        self,
        keys: list[RedisKey],
        payloads: list[_Payload],
        *,
        replace: bool = False,
    ) -> None:
        """Store `payloads` under `keys`.

        Args:
            keys: Keys to write.
            payloads: One payload per key.
            replace: The keys may hold objects already (`set`), so a
                small object also removes an earlier object's chunk
                count. Keys fresh from `new_key()` (`put`) hold nothing.
        """
        if not keys:
            return
        names = [self._namespace.name(key) for key in keys]
        with self._errors(f'put {len(keys)} object(s)'):
            chunk_size = self._chunk_size_for(payloads)
            small: dict[str, _Payload] = {}
            large: dict[str, list[_Payload]] = {}
            for name, payload in zip(names, payloads, strict=True):
                if payload.size <= chunk_size:
                    small[name] = payload
                else:
                    large[name] = payload.split(chunk_size)
            if not large and not replace:
                self._redis.mset(small)  # type: ignore[arg-type]
                return
            # One transaction: applied whole at EXEC, or (writer killed,
            # connection dropped) discarded whole by the server.
            pipeline = self._redis.pipeline(transaction=True)
            if small:
                if replace:
                    pipeline.delete(
                        *(_count_key(name) for name in small),
                        *(_partial_key(name) for name in small),
                    )
                pipeline.mset(small)  # type: ignore[arg-type]
            for name, chunks in large.items():
                pipeline.delete(*_all_keys(name))
                for chunk in chunks:
                    pipeline.rpush(name, chunk)  # type: ignore[arg-type]
                pipeline.set(_count_key(name), len(chunks))
            pipeline.execute()

    def _chunk_size_for(self, payloads: Sequence[_Payload]) -> int:
        """Largest chunk the server accepts (asked only if it matters)."""
        if all(payload.size <= MIN_BULK_LIMIT for payload in payloads):
            return MIN_BULK_LIMIT
        if self._chunk_size is None:
            self._chunk_size = self._query_chunk_size()
        return self._chunk_size

    def _query_chunk_size(self) -> int:
        pipeline = self._redis.pipeline(transaction=False)
        pipeline.config_get('proto-max-bulk-len')
        pipeline.config_get('client-query-buffer-limit')
        try:
            replies = pipeline.execute()
        except redis.ResponseError:
            # CONFIG is often disabled on managed servers.
            return DEFAULT_BULK_LIMIT
        # One value per reply; redis-py may or may not decode the names.
        bulk, query = (
            [int(value) for value in reply.values()] for reply in replies
        )
        limit = bulk[0] if bulk else DEFAULT_BULK_LIMIT
        if query:
            limit = min(limit, query[0] - _QUERY_BUFFER_SLACK)
        return max(MIN_BULK_LIMIT, limit)

    def _delete(self, names: Sequence[str]) -> None:
        """Delete objects (with their chunks) in one round trip."""
        if not names:
            return
        with self._errors(f'evict {len(names)} object(s)'):
            pipeline = self._redis.pipeline(transaction=False)
            for start in range(0, len(names), _DELETE_BATCH):
                batch = names[start : start + _DELETE_BATCH]
                pipeline.delete(
                    *(part for name in batch for part in _all_keys(name)),
                )
            pipeline.execute()


_DIRECT_MGET_NAMES = 16
"""Largest `MGET` (names, two per object) whose reply is read directly."""


def _reads_replies_directly(options: dict[str, Any]) -> bool:
    """Whether `MGET` replies can be read by `read_mget_reply`.

    It knows nothing of client-side caching (which reads invalidation
    messages off the same connection).
    """
    return not any(options.get(name) for name in ('cache', 'cache_config'))


def _mget_on(connection: Any, names: list[str]) -> list[bytes | None]:
    """Send `MGET names` on `connection` and read the reply."""
    connection.send_command('MGET', *names)
    try:
        return read_mget_reply(connection._sock, len(names))
    except redis.ResponseError:
        raise  # a complete error reply: the connection is in step
    except BaseException:
        _drop(connection)
        raise


def _drop(connection: Any) -> None:
    """Close `connection`; the next command on it reconnects."""
    connection.disconnect()


def _count_key(name: str) -> str:
    return f'{name}::chunks'


_MAX_COUNT_DIGITS = 18
"""Most digits a chunk count may have (real ones have a few)."""


def _chunk_count(raw: bytes | None) -> int | None:
    """The chunk count stored at `K::chunks`, or `None` if there is none.

    A value that is not a positive decimal number (damaged, or written by
    someone else) counts as no chunked object.
    """
    if raw is None or len(raw) > _MAX_COUNT_DIGITS or not raw.isdigit():
        return None
    count = int(raw)
    return count if count > 0 else None


def _partial_key(name: str) -> str:
    return f'{name}::partial'


def _object_keys(name: str) -> tuple[str, str]:
    """The keys a reader needs: the object and its chunk count."""
    return name, _count_key(name)


def _all_keys(name: str) -> tuple[str, str, str]:
    """Every key an object may occupy (and an earlier version's partial)."""
    return name, _count_key(name), _partial_key(name)
