"""Globus Transfer connector: objects on file systems at several sites.

Each site is a [`GlobusEndpoint`][proxystore.connectors.globus.GlobusEndpoint]:
a Globus collection, the folder inside it that ProxyStore may use
(`endpoint_path`), where that folder is mounted on the site's hosts
(`local_path`) and a regular expression matching those hosts' names
(`host_regex`). The connector finds the site it runs at by matching
`socket.gethostname()` with `re.fullmatch`.

`put` writes the object to the local folder and submits one Globus
transfer to every other site; the key carries the transfer task IDs.
`exists` and `get` wait for those tasks: no object is reported present at
any site before every transfer of it succeeded, and a task that fails, or
does not finish within `timeout` seconds, raises
[`GlobusTransferError`][proxystore.connectors.globus.GlobusTransferError]
naming the key, the task and Globus's reason. `evict` removes the local
file and submits a delete to every other site (without waiting).

Requires `globus-sdk` (`pip install 'proxystore[globus]'`) and a Globus
login (`proxystore-globus-auth login`, or a client identity in the
environment, see [`proxystore.globus.app`][proxystore.globus.app]).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Sequence
from re import Pattern
from typing import Any
from typing import Literal
from typing import NamedTuple
from typing import TypeVar

import globus_sdk
from typing_extensions import Buffer
from typing_extensions import ParamSpec
from typing_extensions import Self

from proxystore.globus.app import auth_refusals
from proxystore.globus.client import get_transfer_client
from proxystore.utils.buffers import byte_views
from proxystore.utils.closing import CloseOnExit

__all__ = [
    'GLOBUS_MKDIR_EXISTS_ERROR_CODE',
    'GlobusConnector',
    'GlobusEndpoint',
    'GlobusEndpoints',
    'GlobusKey',
    'GlobusTaskTimeoutError',
    'GlobusTransferError',
]

logger = logging.getLogger(__name__)

GLOBUS_MKDIR_EXISTS_ERROR_CODE = 'ExternalError.MkdirFailed.Exists'
"""Error code Globus Transfer returns when a folder already exists."""

_DONE = 'SUCCEEDED'
_RUNNING = 'ACTIVE'
_NO_SUCH_TASK = (400, 404)
_SYNC_LEVELS = ('exists', 'size', 'mtime', 'checksum')


class GlobusTransferError(RuntimeError):
    """A Globus task could not be submitted, failed or timed out.

    Attributes:
        key: Key of the object concerned (`None` if not known yet).
        task_id: ID of the Globus task (`None` if none was created).
        reason: What Globus reported.
    """

    def __init__(
        self,
        message: str,
        *,
        key: GlobusKey | None = None,
        task_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.task_id = task_id
        self.reason = reason


class GlobusTaskTimeoutError(GlobusTransferError):
    """A Globus task did not complete within the connector's timeout."""


class GlobusEndpoint:
    """A folder in a Globus collection, and where a host mounts it.

    Args:
        uuid: UUID of the Globus collection.
        endpoint_path: Folder inside the collection for ProxyStore's files.
        local_path: The same folder as seen on the hosts of this site
            (`~` is expanded).
        host_regex: Regular expression (or compiled pattern) that matches
            the hostnames of this site as a whole (`re.fullmatch`).

    Raises:
        TypeError: If a field has the wrong type.
    """

    def __init__(
        self,
        uuid: str,
        endpoint_path: str,
        local_path: str | None,
        host_regex: str | Pattern[str],
    ) -> None:
        for name, value in (
            ('uuid', uuid),
            ('endpoint_path', endpoint_path),
            ('local_path', local_path),
        ):
            if not isinstance(value, str):
                raise TypeError(f'{name} must be a str.')
        if not isinstance(host_regex, (str, Pattern)):
            raise TypeError('host_regex must be a str.')
        self.uuid = uuid
        self.endpoint_path = endpoint_path
        self.local_path: str = local_path  # type: ignore[assignment]
        self.host_regex = host_regex

    @property
    def host_pattern(self) -> str:
        """The `host_regex` as a pattern string."""
        if isinstance(self.host_regex, str):
            return self.host_regex
        return self.host_regex.pattern

    def matches(self, host: str) -> bool:
        """Whether `host` as a whole matches `host_regex`."""
        return re.fullmatch(self.host_regex, host) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GlobusEndpoint):
            raise NotImplementedError(
                'Cannot compare a GlobusEndpoint with '
                f'{type(other).__name__}.',
            )
        return (
            self.uuid == other.uuid
            and self.endpoint_path == other.endpoint_path
            and self.local_path == other.local_path
            and self.host_pattern == other.host_pattern
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(uuid={self.uuid!r}, '
            f'endpoint_path={self.endpoint_path!r}, '
            f'local_path={self.local_path!r}, '
            f'host_regex={self.host_pattern!r})'
        )


class GlobusEndpoints:
    """The sites of a `GlobusConnector`, by collection UUID.

    Args:
        endpoints: The endpoints, each with a different UUID.

    Raises:
        ValueError: If `endpoints` is empty or a UUID repeats.
    """

    def __init__(self, endpoints: Collection[GlobusEndpoint]) -> None:
        if len(endpoints) == 0:
            raise ValueError(
                'GlobusEndpoints must be passed at least one GlobusEndpoint.',
            )
        self._endpoints: dict[str, GlobusEndpoint] = {}
        for endpoint in endpoints:
            if endpoint.uuid in self._endpoints:
                raise ValueError(
                    f'Endpoint with UUID {endpoint.uuid} was provided '
                    'multiple times.',
                )
            self._endpoints[endpoint.uuid] = endpoint

    def __getitem__(self, endpoint_uuid: str) -> GlobusEndpoint:
        try:
            return self._endpoints[endpoint_uuid]
        except KeyError:
            raise KeyError(
                f'Endpoint with UUID {endpoint_uuid} does not exist.',
            ) from None

    def __iter__(self) -> Iterator[GlobusEndpoint]:
        return iter(self._endpoints.values())

    def __len__(self) -> int:
        return len(self._endpoints)

    def __repr__(self) -> str:
        inner = ', '.join(repr(e) for e in self._endpoints.values())
        return f'{type(self).__name__}([{inner}])'

    @classmethod
    def from_dict(cls, json_object: dict[str, dict[str, str]]) -> Self:
        r"""Build the endpoints from a dictionary (the JSON file format).

        Example:
            ```python
            GlobusEndpoints.from_dict({
                '<collection uuid>': {
                    'endpoint_path': '/proxystore',
                    'local_path': '/home/user/proxystore',
                    'host_regex': r'login\\d+\\.site\\.org',
                },
                ...
            })
            ```

        Raises:
            KeyError: If an endpoint lacks one of the three fields.
        """
        endpoints = []
        for endpoint_uuid, params in json_object.items():
            for field in ('endpoint_path', 'local_path', 'host_regex'):
                if field not in params:
                    raise KeyError(
                        f'Endpoint {endpoint_uuid} is missing the field '
                        f'"{field}".',
                    )
            endpoints.append(
                GlobusEndpoint(
                    uuid=endpoint_uuid,
                    endpoint_path=params['endpoint_path'],
                    local_path=params['local_path'],
                    host_regex=params['host_regex'],
                ),
            )
        return cls(endpoints)

    @classmethod
    def from_json(cls, json_file: str) -> Self:
        """Read the endpoints from a JSON file (see `from_dict`)."""
        with open(json_file, encoding='utf-8') as f:
            return cls.from_dict(json.loads(f.read()))

    def dict(self) -> dict[str, dict[str, str]]:
        """Return the endpoints in the JSON file format."""
        return {
            endpoint.uuid: {
                'endpoint_path': endpoint.endpoint_path,
                'local_path': endpoint.local_path,
                'host_regex': endpoint.host_pattern,
            }
            for endpoint in self
        }

    def get_by_host(self, host: str) -> GlobusEndpoint:
        """Return the first endpoint whose `host_regex` matches `host`.

        Raises:
            ValueError: If no endpoint matches.
        """
        for endpoint in self:
            if endpoint.matches(host):
                return endpoint
        raise ValueError(f'Cannot find endpoint matching host {host}')


class GlobusKey(NamedTuple):
    """Key to an object of a `GlobusConnector`.

    Keys are equal when their filenames are (the task IDs differ between
    copies of a key made at different sites).

    Attributes:
        filename: Name of the object's file in each endpoint's folder.
        task_id: IDs of the Globus transfer tasks that copy the file to the
            other endpoints.
    """

    filename: str
    task_id: str | tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, tuple) or len(other) == 0:
            return False
        return bool(self[0] == other[0])

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.filename) + hash(self.task_id)


def _check_uuid(value: object, what: str) -> str:
    if isinstance(value, str):
        try:
            if str(uuid.UUID(value)) == value:
                return value
        except ValueError:
            pass
    raise ValueError(f'Invalid GlobusKey: {what} must be a UUID string.')


def _task_ids(key: GlobusKey) -> tuple[str, ...]:
    if not isinstance(key, tuple) or len(key) != 2:  # noqa: PLR2004
        raise ValueError(f'Invalid GlobusKey {key!r}.')
    _check_uuid(key[0], 'filename')
    tids = key[1]
    if isinstance(tids, str):
        tids = (tids,)
    elif not isinstance(tids, (tuple, list)) or len(tids) == 0:
        raise ValueError(
            'Invalid GlobusKey: task_id must be a UUID string or a '
            'non-empty tuple of them.',
        )
    return tuple(_check_uuid(t, 'task_id') for t in tids)


def _reason(task: Any) -> str:
    """What Globus says about a task, in a few words."""
    fatal = task.get('fatal_error')
    if isinstance(fatal, dict) and fatal:
        return f'{fatal.get("code")}: {fatal.get("description")}'
    parts = [
        str(part)
        for part in (
            task.get('nice_status'),
            task.get('nice_status_short_description'),
        )
        if part
    ]
    return ' - '.join(parts) if parts else 'no details given'


_P = ParamSpec('_P')
_R = TypeVar('_R')


def _auth_refusals(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `method` inside `auth_refusals()` (clear login errors)."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with auth_refusals():
            return method(*args, **kwargs)

    return wrapper


_TaskT = TypeVar('_TaskT', globus_sdk.DeleteData, globus_sdk.TransferData)


def _quiet(task: _TaskT) -> _TaskT:
    """Turn off Globus's emails about the task."""
    task['notify_on_succeeded'] = False
    task['notify_on_failed'] = False
    task['notify_on_inactive'] = False
    return task


def _submit_transfer_action(
    client: globus_sdk.TransferClient,
    task: globus_sdk.DeleteData | globus_sdk.TransferData,
) -> globus_sdk.GlobusHTTPResponse:
    """Submit a transfer or delete task.

    Raises:
        GlobusTransferError: If Globus refuses the task (an `Exception`
            whose message starts "Failure initiating Globus Transfer").
    """
    try:
        if isinstance(task, globus_sdk.DeleteData):
            return client.submit_delete(task)
        return client.submit_transfer(task)
    except globus_sdk.TransferAPIError as e:
        raise GlobusTransferError(
            'Failure initiating Globus Transfer. Error info: '
            f'HTTP {e.http_status} {e.code}: {e.message}',
            reason=f'{e.code}: {e.message}',
        ) from e


class GlobusConnector(CloseOnExit):
    """Connector moving objects between sites with Globus Transfer.

    See the [module documentation][proxystore.connectors.globus] and the
    Globus guide for the data flow and its costs.

    Args:
        endpoints: The sites: a `GlobusEndpoints`, a list of
            `GlobusEndpoint`, or the JSON file format as a dictionary.
        clear: Delete every endpoint's folder on `close()`.
        buffering: Buffering policy passed to `open()` when writing.
        polling_interval: Seconds between checks of a running task.
        sync_level: Globus sync level of the transfers.
        timeout: Seconds to wait for a task before `exists`/`get` raise.

    Raises:
        ValueError: If `endpoints` has the wrong type or fewer than two
            endpoints, or `polling_interval`/`timeout` is below 1.
    """

    accepts_buffer_lists = True
    """`put` also takes a list of buffers (written back to back)."""

    def __init__(
        self,
        endpoints: GlobusEndpoints
        | list[GlobusEndpoint]
        | dict[str, dict[str, str]],
        *,
        clear: bool = True,
        buffering: int = -1,
        polling_interval: int = 1,
        sync_level: int
        | Literal['exists', 'size', 'mtime', 'checksum'] = 'mtime',
        timeout: int = 60,
    ) -> None:
        if isinstance(endpoints, GlobusEndpoints):
            self.endpoints = endpoints
        elif isinstance(endpoints, list):
            self.endpoints = GlobusEndpoints(endpoints)
        elif isinstance(endpoints, dict):
            self.endpoints = GlobusEndpoints.from_dict(endpoints)
        else:
            raise ValueError(
                'The endpoints must be of type GlobusEndpoints or a list of '
                f'GlobusEndpoint (or a dict). Got {type(endpoints).__name__}.',
            )
        if len(self.endpoints) < 2:  # noqa: PLR2004
            raise ValueError('At least two Globus endpoints are required.')
        if polling_interval < 1 or timeout < 1:
            raise ValueError(
                'polling_interval and timeout must be at least 1 second. '
                f'Got {polling_interval} and {timeout}.',
            )
        if isinstance(sync_level, str) and sync_level not in _SYNC_LEVELS:
            raise ValueError(
                f'sync_level must be one of {", ".join(_SYNC_LEVELS)} or an '
                f'int. Got {sync_level!r}.',
            )
        self.clear = clear
        self.buffering = buffering
        self.polling_interval = polling_interval
        self.sync_level = sync_level
        self.timeout = timeout
        self._local: GlobusEndpoint | None = None
        self._succeeded: set[str] = set()
        with auth_refusals():
            self._transfer_client = get_transfer_client(
                collections=[endpoint.uuid for endpoint in self.endpoints],
            )

    def __repr__(self) -> str:
        return f'{type(self).__name__}(endpoints={self.endpoints!r})'

    def _get_local_endpoint(self) -> GlobusEndpoint:
        """The endpoint whose `host_regex` matches this host.

        Raises:
            ValueError: If none does.
        """
        if self._local is None:
            host = socket.gethostname()
            try:
                self._local = self.endpoints.get_by_host(host)
            except ValueError:
                patterns = ', '.join(
                    f'{e.uuid}: {e.host_pattern!r}' for e in self.endpoints
                )
                raise ValueError(
                    f'Cannot find endpoint matching host {host}: no '
                    f'host_regex matches it as a whole ({patterns}). Add '
                    'this host to the host_regex of its site.',
                ) from None
        return self._local

    def _get_filepath(
        self,
        filename: str,
        endpoint: GlobusEndpoint | None = None,
    ) -> str:
        """Path of `filename`: on this host, or inside `endpoint`."""
        if endpoint is None:
            local = self._get_local_endpoint()
            return os.path.join(os.path.expanduser(local.local_path), filename)
        return os.path.join(endpoint.endpoint_path, filename)

    def _new_task(
        self,
        src: GlobusEndpoint,
        dst: GlobusEndpoint,
        delete: bool,
    ) -> globus_sdk.DeleteData | globus_sdk.TransferData:
        if delete:
            return _quiet(
                globus_sdk.DeleteData(endpoint=dst.uuid, ignore_missing=True),
            )
        return _quiet(
            globus_sdk.TransferData(
                source_endpoint=src.uuid,
                destination_endpoint=dst.uuid,
                sync_level=self.sync_level,
            ),
        )

    def _transfer_files(
        self,
        filenames: Sequence[str],
        delete: bool = False,
    ) -> tuple[str, ...]:
        """Submit one task per other endpoint covering every file.

        Returns:
            The IDs of the tasks. If a submission fails, the tasks already
            submitted are cancelled and the error is raised.
        """
        src = self._get_local_endpoint()
        task_ids: list[str] = []
        try:
            for dst in self.endpoints:
                if dst.uuid == src.uuid:
                    continue
                task = self._new_task(src, dst, delete)
                for filename in filenames:
                    dst_path = self._get_filepath(filename, dst)
                    if isinstance(task, globus_sdk.DeleteData):
                        task.add_item(path=dst_path)
                    else:
                        task.add_item(
                            source_path=self._get_filepath(filename, src),
                            destination_path=dst_path,
                        )
                result = _submit_transfer_action(self._transfer_client, task)
                task_ids.append(str(result['task_id']))
        except BaseException:
            self._cancel(task_ids)
            raise
        logger.debug(
            'Submitted %s of %d file(s) as task(s) %s',
            'deletes' if delete else 'transfers',
            len(filenames),
            ', '.join(task_ids),
        )
        return tuple(task_ids)

    def _cancel(self, task_ids: Sequence[str]) -> None:
        for task_id in task_ids:
            try:
                self._transfer_client.cancel_task(task_id)
            except globus_sdk.GlobusError as e:
                logger.warning('Could not cancel task %s: %s', task_id, e)

    def _validate_task_id(self, task_id: str) -> dict[str, Any] | None:
        """The task's document, or `None` if Globus has no such task.

        Raises:
            globus_sdk.TransferAPIError: For errors other than HTTP 400
                (invalid task) and 404 (unknown task).
        """
        try:
            return dict(self._transfer_client.get_task(task_id).data)
        except globus_sdk.TransferAPIError as e:
            if e.http_status in _NO_SUCH_TASK:
                return None
            raise

    def _wait_on_tasks(self, key: GlobusKey) -> bool:
        """Wait for the key's tasks; False if Globus does not know one.

        Raises:
            GlobusTransferError: If a task failed, is paused by Globus
                (INACTIVE) or did not complete within the timeout.
        """
        for task_id in _task_ids(key):
            if task_id in self._succeeded:
                continue
            task = self._validate_task_id(task_id)
            if task is None:
                return False
            if task.get('status') == _RUNNING:
                done = self._transfer_client.task_wait(
                    task_id,
                    timeout=self.timeout,
                    polling_interval=self.polling_interval,
                )
                task = self._validate_task_id(task_id)
                if task is None:  # pragma: no cover - Globus forgot it
                    return False
                if not done:
                    reason = _reason(task)
                    raise GlobusTaskTimeoutError(
                        f'Task {task_id} did not complete within the timeout '
                        f'({self.timeout} s) for key {key!r}: {reason}.',
                        key=key,
                        task_id=task_id,
                        reason=reason,
                    )
            status = task.get('status')
            if status != _DONE:
                reason = _reason(task)
                raise GlobusTransferError(
                    f'Globus task {task_id} for key {key!r} ended {status}: '
                    f'{reason}.',
                    key=key,
                    task_id=task_id,
                    reason=reason,
                )
            self._succeeded.add(task_id)
        return True

    def _write(self, path: str, obj: Buffer | Sequence[Buffer]) -> None:
        views = byte_views(obj)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = os.path.join(
            os.path.dirname(path),
            f'.{os.path.basename(path)}.tmp',
        )
        try:
            with open(temp, 'wb', buffering=self.buffering) as f:
                for view in views:
                    f.write(view)
            os.replace(temp, path)
        except BaseException:
            _remove(temp)
            raise

    def _put_files(self, objs: Sequence[Buffer]) -> list[GlobusKey]:
        filenames = [str(uuid.uuid4()) for _ in objs]
        paths = [self._get_filepath(name) for name in filenames]
        try:
            for path, obj in zip(paths, objs, strict=True):
                self._write(path, obj)
            task_ids = self._transfer_files(filenames)
        except BaseException:
            for path in paths:
                _remove(path)
            raise
        return [GlobusKey(name, task_ids) for name in filenames]

    @_auth_refusals
    def close(self, clear: bool | None = None) -> None:
        """Close the connector.

        Warning:
            With `clear`, this deletes every endpoint's `endpoint_path`
            folder and all it holds, at every site.

        Args:
            clear: Delete the folders (default: the `clear` given when the
                connector was created). Waits for the deletes.
        """
        if not (self.clear if clear is None else clear):
            return
        for endpoint in self.endpoints:
            task = _quiet(
                globus_sdk.DeleteData(endpoint=endpoint.uuid, recursive=True),
            )
            task.add_item(endpoint.endpoint_path)
            result = _submit_transfer_action(self._transfer_client, task)
            task_id = str(result['task_id'])
            done = self._transfer_client.task_wait(
                task_id,
                timeout=self.timeout,
                polling_interval=self.polling_interval,
            )
            if not done:
                logger.warning(
                    'Delete task %s of %s:%s did not complete within %d s',
                    task_id,
                    endpoint.uuid,
                    endpoint.endpoint_path,
                    self.timeout,
                )

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'endpoints': self.endpoints.dict(),
            'clear': self.clear,
            'buffering': self.buffering,
            'polling_interval': self.polling_interval,
            'sync_level': self.sync_level,
            'timeout': self.timeout,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Create a connector from a `config()` dictionary."""
        return cls(**config)

    @_auth_refusals
    def evict(self, key: GlobusKey) -> None:
        """Delete the object here and submit deletes to the other sites.

        Waits for the key's transfers first (a delete must not race the
        transfer that creates the file); a key whose transfer failed is
        still cleaned up. No-op if the object does not exist.

        Raises:
            GlobusTransferError: If a transfer did not finish in time or a
                delete cannot be submitted.
        """
        try:
            present = self.exists(key)
        except GlobusTaskTimeoutError:
            raise
        except GlobusTransferError:
            present = True
        if not present:
            return
        _remove(self._get_filepath(key.filename))
        self._transfer_files([key.filename], delete=True)

    @_auth_refusals
    def exists(self, key: GlobusKey) -> bool:
        """Whether the object exists, once its transfers have finished.

        Raises:
            GlobusTransferError: If a transfer failed or did not finish in
                time.
            ValueError: If `key` is not a valid key.
        """
        if not self._wait_on_tasks(key):
            return False
        return os.path.exists(self._get_filepath(key.filename))

    @_auth_refusals
    def get(self, key: GlobusKey) -> bytes | None:
        """Get the object (waiting for its transfers), or `None`.

        Raises:
            GlobusTransferError: If a transfer failed or did not finish in
                time.
        """
        if not self.exists(key):
            return None
        try:
            with open(self._get_filepath(key.filename), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def get_batch(self, keys: Sequence[GlobusKey]) -> list[bytes | None]:
        """Get several objects (a batch shares its tasks)."""
        return [self.get(key) for key in keys]

    @_auth_refusals
    def put(self, obj: Buffer | Sequence[Buffer]) -> GlobusKey:
        """Write the object and submit its transfers to the other sites.

        Raises:
            GlobusTransferError: If a transfer cannot be submitted (the
                local file is removed).
        """
        return self._put_files([obj])[0]  # type: ignore[list-item]

    @_auth_refusals
    def put_batch(self, objs: Sequence[Buffer]) -> list[GlobusKey]:
        """Write several objects, moved by one task per other site."""
        if len(objs) == 0:
            return []
        return self._put_files(objs)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
