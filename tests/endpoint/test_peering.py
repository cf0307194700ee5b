"""Peering as real processes: a relay, four endpoints, spawned readers.

A proxy put through endpoint A resolves in spawned processes that each
know only one other endpoint, which fetches the data from A by one path:

- B: straight from A's HTTP server (A announced its address; `http`);
- D: over WebRTC, host candidates on loopback (D does not use announced
  addresses; `webrtc-direct`);
- C: through the relay's websocket, because C's ICE is made to fail
  (transport policy 'relay' without a TURN server; `relayed`).
"""

from __future__ import annotations

import multiprocessing
import pathlib
import pickle
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from requests.exceptions import RequestException

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.endpoint import client
from proxystore.endpoint.config import EndpointStorageConfig
from proxystore.store.base import Store
from tests.p2p.processes import endpoint_processes
from tests.p2p.processes import relay_process

pytestmark = pytest.mark.timeout(120)


def _resolve_through(
    proxy_bytes: bytes,
    store_name: str,
    endpoints: list[str],
    proxystore_dir: str,
) -> Any:
    # The reader knows only one endpoint (the only config in its dir), so
    # the proxy's data, owned by A, is fetched through that endpoint.
    connector = EndpointConnector(endpoints, proxystore_dir=proxystore_dir)
    with Store(store_name, connector, register=True) as store:
        assert store.connector.endpoint_uuid != uuid.UUID(endpoints[0])
        proxy = pickle.loads(proxy_bytes)
        return list(proxy)


def test_proxy_resolves_through_peers(tmp_path: pathlib.Path) -> None:
    with (
        relay_process(tmp_path) as relay,
        endpoint_processes(
            tmp_path,
            relay,
            {
                'a': {
                    'storage': EndpointStorageConfig(
                        max_object_size=3_000_000
                    ),
                },
                'b': {},
                'c': {'env': {'PROXYSTORE_ICE_TRANSPORT_POLICY': 'relay'}},
                'd': {'env': {'PROXYSTORE_PEER_DIRECT_HTTP': '0'}},
            },
        ) as configs,
    ):
        a, b, c, d = (configs[name] for name in 'abcd')
        uuids = [a.uuid, b.uuid, c.uuid, d.uuid]
        value = list(range(200_000))  # about 1 MB pickled
        connector = EndpointConnector(
            uuids, proxystore_dir=str(tmp_path / 'a')
        )
        with Store('peering', connector, register=True) as store:
            proxy = store.proxy(value)
            key = store.connector.put(b'raw bytes')
            assert key.endpoint_id == a.uuid
            proxy_bytes = pickle.dumps(proxy)
            context = multiprocessing.get_context('spawn')
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                for reader in 'bcd':
                    result = pool.submit(
                        _resolve_through,
                        proxy_bytes,
                        'peering',
                        uuids,
                        str(tmp_path / reader),
                    ).result(timeout=60)
                    assert result == value
            # Errors and misses through each path, nothing stored on A.
            for config in (b, c, d):
                address = f'http://127.0.0.1:{config.port}'
                assert client.get(address, 'missing', endpoint=a.uuid) is None
                assert not client.exists(address, 'missing', endpoint=a.uuid)
                client.evict(address, 'missing', endpoint=a.uuid)
                with pytest.raises(RequestException) as info:
                    client.put(address, 'big', b'x' * 4_000_000, a.uuid)
                response = info.value.response
                assert response is not None
                assert response.status_code in (413, 500)
                assert 'exceeds' in response.text
                assert not client.exists(
                    f'http://127.0.0.1:{a.port}',
                    'big',
                )
    logs = {
        name: (tmp_path / name / name / 'log.txt').read_text()
        for name in 'abcd'
    }
    assert '(path: http, http://127.0.0.1:' in logs['b']
    assert '(path: webrtc-direct)' in logs['d']
    assert 'path: http' not in logs['d']
    assert '(path: relayed)' in logs['c']
    assert 'path: http' not in logs['c']
    assert '(path: relayed)' in logs['a']
