"""EndpointConnector behaviour beyond the shared connector suite."""

from __future__ import annotations

import os
import pathlib
import signal
import time
import uuid
from typing import Any

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointConnectorError
from proxystore.connectors.endpoint import EndpointKey
from proxystore.endpoint import client
from proxystore.endpoint.commands import launch_endpoint
from proxystore.endpoint.commands import new_endpoint_config
from proxystore.endpoint.commands import running_pid
from proxystore.endpoint.commands import terminate_endpoint
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.session import EndpointSession
from tests.fixtures.endpoint import endpoint_process
from tests.fixtures.ports import free_port


def test_no_reachable_endpoint(tmp_path: pathlib.Path) -> None:
    home = str(tmp_path)
    config = new_endpoint_config(
        'down',
        host='127.0.0.1',
        port=free_port(),
        auth=False,
        proxystore_dir=home,
    )
    with pytest.raises(
        EndpointConnectorError,
        match='Failed to find an endpoint configuration',
    ):
        EndpointConnector([config.uuid], proxystore_dir=home)
    with pytest.raises(
        EndpointConnectorError,
        match='Failed to find an endpoint configuration',
    ):
        EndpointConnector([str(uuid.uuid4())], proxystore_dir=home)


def test_never_started_endpoint_is_skipped(
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = str(tmp_path)
    config = new_endpoint_config('idle', port=free_port(), proxystore_dir=home)
    assert config.host is None
    with pytest.raises(EndpointConnectorError, match=config.uuid):
        EndpointConnector([config.uuid], proxystore_dir=home)
    assert 'has not been started' in caplog.text


def test_upstream_attributes(
    endpoint_connector: Any,
    shared_endpoint: Any,
) -> None:
    assert endpoint_connector.endpoints == [uuid.UUID(shared_endpoint.uuid)]
    assert endpoint_connector.endpoint_host == '127.0.0.1'
    assert endpoint_connector.endpoint_port == shared_endpoint.port
    assert endpoint_connector.address == shared_endpoint.local_url()
    key = endpoint_connector.new_key()
    assert key.endpoint_id == shared_endpoint.uuid
    uuid.UUID(key.object_id, version=4)


def test_bad_arguments() -> None:
    with pytest.raises(
        ValueError, match='At least one endpoint must be specified'
    ):
        EndpointConnector([])
    with pytest.raises(ValueError, match='badly formed'):
        EndpointConnector(['nope'])


def test_config_and_repr(endpoint_connector: Any, endpoint_home: str) -> None:
    assert endpoint_connector.config() == {
        'endpoints': [str(endpoint_connector.endpoint_uuid)],
        'proxystore_dir': endpoint_home,
    }
    assert repr(endpoint_connector) == (
        f'EndpointConnector(connected to {endpoint_connector.endpoint_uuid}'
        f' @ {endpoint_connector.address})'
    )
    key = endpoint_connector.put(b'x')
    assert repr(key).startswith("EndpointKey(object_id='")


def test_accepts_single_uuid(shared_endpoint: Any, endpoint_home: str) -> None:
    with EndpointConnector(
        uuid.UUID(shared_endpoint.uuid),  # type: ignore[arg-type]
        proxystore_dir=endpoint_home,
    ) as connector:
        assert connector.endpoint_uuid == uuid.UUID(shared_endpoint.uuid)


def test_malformed_key_is_rejected_without_damage(
    endpoint_connector: Any,
) -> None:
    kept = endpoint_connector.put(b'kept')
    bad = EndpointKey('../../outside', str(endpoint_connector.endpoint_uuid))
    with pytest.raises(EndpointConnectorError, match='Invalid object key'):
        endpoint_connector.get(bad)
    with pytest.raises(EndpointConnectorError, match='Invalid object key'):
        endpoint_connector.set(bad, b'x')
    assert endpoint_connector.get(kept) == b'kept'


def test_numpy_buffer_put(endpoint_connector: Any) -> None:
    numpy = pytest.importorskip('numpy')
    array = numpy.arange(1000, dtype=numpy.float64)
    key = endpoint_connector.put(array)
    assert endpoint_connector.get(key) == array.tobytes()


def test_session_survives_endpoint_restart(tmp_path: pathlib.Path) -> None:
    home = str(tmp_path)
    with endpoint_process(home, 'restart', persist=True) as config:
        with EndpointConnector([config.uuid], proxystore_dir=home) as conn:
            key = conn.put(b'before restart')
            terminate_endpoint('restart', proxystore_dir=home)
            with pytest.raises(EndpointConnectorError, match='unreachable'):
                conn.get(key)
            launch_endpoint('restart', proxystore_dir=home)
            # The dead keep-alive connection is replaced transparently.
            assert conn.get(key) == b'before restart'


def test_killed_persistent_endpoint_keeps_objects(
    tmp_path: pathlib.Path,
) -> None:
    home = str(tmp_path)
    with endpoint_process(home, 'durable', persist=True) as config:
        address = config.local_url()
        with EndpointSession(address) as session:
            for i in range(20):
                client.put(address, f'obj-{i}', b'%d' % i, session=session)
            client.evict(address, 'obj-3', session=session)
            large = os.urandom(3 * 1024 * 1024 + 5)
            client.put(address, 'large', large, session=session)
        pid = running_pid(get_endpoint_dir('durable', home))
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while running_pid(get_endpoint_dir('durable', home)) is not None:
            time.sleep(0.01)
        with pytest.raises(EndpointRequestError):
            client.get(address, 'obj-0')
        launch_endpoint('durable', proxystore_dir=home)
        assert running_pid(get_endpoint_dir('durable', home)) != pid
        with EndpointSession(address) as session:
            for i in range(20):
                expected = None if i == 3 else b'%d' % i
                assert client.get(address, f'obj-{i}', session=session) == (
                    expected
                )
            assert client.get(address, 'large', session=session) == large


def test_memory_endpoint_forgets_on_restart(tmp_path: pathlib.Path) -> None:
    home = str(tmp_path)
    with endpoint_process(home, 'volatile') as config:
        client.put(config.local_url(), 'gone', b'x')
        terminate_endpoint('volatile', proxystore_dir=home)
        launch_endpoint('volatile', proxystore_dir=home)
        assert client.get(config.local_url(), 'gone') is None
