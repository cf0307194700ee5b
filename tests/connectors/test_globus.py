"""GlobusConnector against a Globus simulation (see tests/fixtures/globus.py).

The Globus services are a test double (globus-sdk registered responses
answered through `responses`, two local folders standing for the two
collections' file systems); the connector, the Globus apps and the
globus-sdk clients are the real code.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import socket
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from proxystore.connectors.globus import GlobusConnector
from proxystore.connectors.globus import GlobusEndpoint
from proxystore.connectors.globus import GlobusEndpoints
from proxystore.connectors.globus import GlobusKey
from proxystore.connectors.globus import GlobusTaskTimeoutError
from proxystore.connectors.globus import GlobusTransferError
from proxystore.connectors.registry import get_connector_type
from proxystore.globus.app import GlobusLoginRequiredError
from proxystore.testing.connectors import ConnectorSuite
from tests.fixtures.globus import FAILURE_CODE
from tests.fixtures.globus import FAILURE_DESCRIPTION
from tests.fixtures.globus import GlobusSimulation
from tests.fixtures.globus import site_endpoints
from tests.helpers.scripts import run_python

pytestmark = pytest.mark.timeout(60)

UUID_A = str(uuid.UUID(int=1))
UUID_B = str(uuid.UUID(int=2))


class TestGlobusConnectorSuite(ConnectorSuite):
    @pytest.fixture(params=['responses', 'http'])
    def connector(self, request: pytest.FixtureRequest) -> Any:
        if request.param == 'http':
            return request.getfixturevalue('globus_http_connector')
        return request.getfixturevalue('globus_connector')

    def test_config_reaches_data_in_spawned_process(
        self,
        connector: Any,
    ) -> None:
        if 'GLOBUS_SDK_SERVICE_URL_TRANSFER' not in os.environ:
            pytest.skip('a responses mock answers this process only')
        super().test_config_reaches_data_in_spawned_process(connector)


def _local_file(connector: GlobusConnector, key: GlobusKey) -> Path:
    return Path(connector._get_filepath(key.filename))


def _site_file(sim: GlobusSimulation, site: int, key: GlobusKey) -> Path:
    collection = list(sim.roots)[site]
    return sim.path(collection, f'/proxystore/{key.filename}')


# GlobusEndpoint / GlobusEndpoints


def test_endpoint_fields_and_repr() -> None:
    endpoint = GlobusEndpoint(UUID_A, '/ps', '~/ps', r'login\d+')
    assert repr(endpoint) == (
        f"GlobusEndpoint(uuid='{UUID_A}', endpoint_path='/ps', "
        "local_path='~/ps', host_regex='login\\\\d+')"
    )
    assert endpoint == GlobusEndpoint(
        UUID_A,
        '/ps',
        '~/ps',
        re.compile(r'login\d+'),
    )
    assert endpoint != GlobusEndpoint(UUID_A, '/other', '~/ps', r'login\d+')
    with pytest.raises(NotImplementedError):
        _ = endpoint == 'x'


@pytest.mark.parametrize(
    ('args', 'field'),
    [
        ((1, '/p', '/l', 'h'), 'uuid'),
        ((UUID_A, 2, '/l', 'h'), 'endpoint_path'),
        ((UUID_A, '/p', None, 'h'), 'local_path'),
        ((UUID_A, '/p', '/l', 4), 'host_regex'),
    ],
)
def test_endpoint_type_errors(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(TypeError, match=f'{field} must be a str'):
        GlobusEndpoint(*args)


def test_endpoints_json_file_round_trip(tmp_path: Path) -> None:
    data = {
        UUID_A: {
            'endpoint_path': '/ps',
            'local_path': '/home/a/ps',
            'host_regex': r'login\d+\.site-a\.org',
        },
        UUID_B: {
            'endpoint_path': '/ps',
            'local_path': '/home/b/ps',
            'host_regex': r'.*\.site-b\.org',
        },
    }
    path = tmp_path / 'endpoints.json'
    path.write_text(json.dumps(data), encoding='utf-8')
    endpoints = GlobusEndpoints.from_json(str(path))
    assert len(endpoints) == 2
    assert endpoints.dict() == data
    assert endpoints[UUID_B].local_path == '/home/b/ps'
    assert [e.uuid for e in endpoints] == [UUID_A, UUID_B]
    assert repr(endpoints).startswith('GlobusEndpoints([GlobusEndpoint(')
    assert endpoints.get_by_host('login3.site-a.org').uuid == UUID_A
    assert endpoints.get_by_host('node7.site-b.org').uuid == UUID_B
    # fullmatch: a prefix or a suffix of a hostname does not match.
    with pytest.raises(ValueError, match='Cannot find endpoint matching host'):
        endpoints.get_by_host('login3.site-a.org.evil')
    with pytest.raises(KeyError, match='does not exist'):
        endpoints[str(uuid.UUID(int=3))]


def test_endpoints_errors() -> None:
    endpoint = GlobusEndpoint(UUID_A, '/p', '/l', 'h')
    with pytest.raises(ValueError, match='at least one'):
        GlobusEndpoints([])
    with pytest.raises(ValueError, match='multiple times'):
        GlobusEndpoints([endpoint, endpoint])
    with pytest.raises(KeyError, match='host_regex'):
        GlobusEndpoints.from_dict(
            {UUID_A: {'endpoint_path': '/p', 'local_path': '/l'}},
        )


def test_key_equality_and_hash() -> None:
    key = GlobusKey('name', ('t1', 't2'))
    assert key == GlobusKey('name', ('other',))
    assert key != GlobusKey('other', ('t1', 't2'))
    assert key != 'name'
    assert key.__hash__() == hash('name') + hash(('t1', 't2'))


# Construction


def test_registered_kind() -> None:
    assert get_connector_type('globus') is GlobusConnector


def test_kind_without_globus_sdk_names_the_install(tmp_path: Path) -> None:
    script = tmp_path / 'no_globus_sdk.py'
    script.write_text(
        'import sys\n'
        "sys.modules['globus_sdk'] = None  # as if it were not installed\n"
        'from proxystore.connectors.registry import get_connector_type\n'
        'try:\n'
        "    get_connector_type('globus')\n"
        'except ImportError as e:\n'
        '    print(e)\n',
    )
    output = run_python(script).stdout
    assert "pip install 'proxystore[globus]'" in output
    assert 'proxystore.connectors.globus.GlobusConnector' in output


def test_constructor_errors(globus_sim: GlobusSimulation) -> None:
    endpoints = site_endpoints(globus_sim)
    with pytest.raises(ValueError, match='must be of type GlobusEndpoints'):
        GlobusConnector('endpoints.json')  # type: ignore[arg-type]
    one = dict(list(endpoints.items())[:1])
    with pytest.raises(ValueError, match='At least two Globus endpoints'):
        GlobusConnector(one)
    with pytest.raises(ValueError, match='at least 1 second'):
        GlobusConnector(endpoints, timeout=0)
    with pytest.raises(ValueError, match='sync_level'):
        GlobusConnector(endpoints, sync_level='sometimes')  # type: ignore


def test_config_and_repr(globus_sim: GlobusSimulation) -> None:
    endpoints = GlobusEndpoints.from_dict(site_endpoints(globus_sim))
    connector = GlobusConnector(list(endpoints), clear=False, timeout=5)
    assert connector.config() == {
        'endpoints': endpoints.dict(),
        'clear': False,
        'buffering': -1,
        'polling_interval': 1,
        'sync_level': 'mtime',
        'timeout': 5,
    }
    assert repr(connector) == f'GlobusConnector(endpoints={endpoints!r})'
    copy = GlobusConnector.from_config(connector.config())
    assert copy.config() == connector.config()


def test_no_endpoint_matches_this_host(globus_sim: GlobusSimulation) -> None:
    endpoints = site_endpoints(globus_sim, local=5)  # no site is local
    connector = GlobusConnector(endpoints, clear=False)
    host = socket.gethostname()
    with pytest.raises(ValueError, match=f'matching host {re.escape(host)}'):
        connector.put(b'data')
    assert globus_sim.count('POST', '/transfer') == 0
    for root in globus_sim.roots.values():
        assert list(root.iterdir()) == []


def test_not_logged_in(
    globus_sim: GlobusSimulation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv('PROXYSTORE_GLOBUS_CLIENT_ID')
    monkeypatch.delenv('PROXYSTORE_GLOBUS_CLIENT_SECRET')
    with pytest.raises(GlobusLoginRequiredError, match='globus-auth login'):
        GlobusConnector(site_endpoints(globus_sim))
    assert len(globus_sim.mock.calls) == 0


# Data flow


def test_put_transfers_to_the_other_site(
    globus_sim: GlobusSimulation,
) -> None:
    producer = GlobusConnector(site_endpoints(globus_sim, 0), clear=False)
    consumer = GlobusConnector(site_endpoints(globus_sim, 1), clear=False)
    key = producer.put(b'across sites')
    assert isinstance(key.task_id, tuple)
    assert len(key.task_id) == 1
    (body,) = globus_sim.submitted
    a, b = list(globus_sim.roots)
    assert body['source_endpoint'] == a
    assert body['destination_endpoint'] == b
    assert body['sync_level'] == 2  # mtime
    assert body['notify_on_succeeded'] is False
    assert body['DATA'][0]['destination_path'] == (
        f'/proxystore/{key.filename}'
    )
    # Not at site B before the task was polled (and so succeeded).
    assert not _site_file(globus_sim, 1, key).exists()
    assert consumer.get(key) == b'across sites'
    assert _site_file(globus_sim, 1, key).read_bytes() == b'across sites'

    consumer.evict(key)
    assert not _site_file(globus_sim, 1, key).exists()
    assert not _site_file(globus_sim, 0, key).exists()  # delete submitted
    assert not producer.exists(key)
    assert consumer.get(key) is None


def _at_site(config: dict[str, Any], key: GlobusKey) -> Any:
    """In a spawned process at the other site: read `key`, put a reply."""
    connector = GlobusConnector.from_config(config)
    return connector.get(key), connector.put(b'reply from site B')


def test_consumer_process_at_the_other_site(
    globus_http_sim: GlobusSimulation,
) -> None:
    producer = GlobusConnector(site_endpoints(globus_http_sim, 0), clear=False)
    consumer = GlobusConnector(site_endpoints(globus_http_sim, 1), clear=False)
    key = producer.put(b'to site B')
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        data, reply = pool.submit(_at_site, consumer.config(), key).result()
    assert data == b'to site B'
    assert _site_file(globus_http_sim, 1, key).read_bytes() == b'to site B'
    assert producer.get(reply) == b'reply from site B'
    a, b = list(globus_http_sim.roots)
    assert [
        (body['source_endpoint'], body['destination_endpoint'])
        for body in globus_http_sim.submitted
    ] == [(a, b), (b, a)]


def _resolve(proxy: Any) -> Any:
    """In a spawned process: use a proxy like its target."""
    return dict(proxy)


def test_proxy_resolves_in_a_spawned_process(
    globus_http_sim: GlobusSimulation,
) -> None:
    from proxystore.store import Store

    connector = GlobusConnector(site_endpoints(globus_http_sim, 0))
    with Store('globus-proxy-test', connector) as store:
        proxy = store.proxy({'answer': 42})
        context = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            assert pool.submit(_resolve, proxy).result() == {'answer': 42}


def test_batch_is_one_task_per_destination(
    globus_sim: GlobusSimulation,
) -> None:
    producer = GlobusConnector(site_endpoints(globus_sim, 0), clear=False)
    consumer = GlobusConnector(site_endpoints(globus_sim, 1), clear=False)
    keys = producer.put_batch([b'one', b'two', b'three'])
    assert globus_sim.count('POST', '/transfer') == 1
    assert len({key.task_id for key in keys}) == 1
    assert len(globus_sim.submitted[0]['DATA']) == 3
    assert consumer.get_batch(keys) == [b'one', b'two', b'three']
    # The succeeded task is remembered: one poll for the whole batch.
    assert globus_sim.count('GET', '/task/') == 1


def test_failed_transfer_is_a_clear_error(
    globus_sim: GlobusSimulation,
) -> None:
    producer = GlobusConnector(site_endpoints(globus_sim, 0), clear=False)
    consumer = GlobusConnector(site_endpoints(globus_sim, 1), clear=False)
    good = producer.put(b'good')
    globus_sim.mode = 'fail'
    key = producer.put(b'lost on the way')
    task_id = key.task_id[0]
    for connector in (consumer, producer):
        with pytest.raises(GlobusTransferError) as info:
            connector.get(key)
        message = str(info.value)
        assert task_id in message
        assert key.filename in message
        assert FAILURE_CODE in message
        assert FAILURE_DESCRIPTION in message
        assert info.value.task_id == task_id
        with pytest.raises(GlobusTransferError):
            connector.exists(key)
    assert not _site_file(globus_sim, 1, key).exists()
    # Other objects are untouched, and the failed one can be evicted.
    assert consumer.get(good) == b'good'
    producer.evict(key)
    assert not _site_file(globus_sim, 0, key).exists()
    assert consumer.get(good) == b'good'


def test_unfinished_transfer_times_out(globus_sim: GlobusSimulation) -> None:
    producer = GlobusConnector(site_endpoints(globus_sim, 0), clear=False)
    consumer = GlobusConnector(
        site_endpoints(globus_sim, 1),
        clear=False,
        timeout=1,
    )
    globus_sim.mode = 'hold'
    key = producer.put(b'slow')
    task_id = key.task_id[0]
    with pytest.raises(GlobusTaskTimeoutError) as info:
        consumer.exists(key)
    assert 'did not complete within the timeout' in str(info.value)
    assert task_id in str(info.value)
    assert key.filename in str(info.value)
    assert not _site_file(globus_sim, 1, key).exists()
    # An evict must not race the transfer: it refuses while it runs.
    with pytest.raises(GlobusTaskTimeoutError):
        consumer.evict(key)
    globus_sim.release()
    assert consumer.get(key) == b'slow'


def test_refused_submission_loses_nothing(
    globus_sim: GlobusSimulation,
) -> None:
    from globus_sdk.testing import load_response

    producer = GlobusConnector(site_endpoints(globus_sim, 0), clear=False)
    kept = producer.put(b'kept')
    load_response(
        'transfer.submit_transfer',
        case='failure',
        requests_mock=globus_sim.mock,
    )
    local_dir = Path(producer._get_filepath(''))
    before = sorted(os.listdir(local_dir))
    with pytest.raises(
        GlobusTransferError,
        match='Failure initiating Globus Transfer.*NoTransferItems',
    ):
        producer.put(b'refused')
    assert sorted(os.listdir(local_dir)) == before
    assert producer.get(kept) == b'kept'


def test_unknown_task_is_missing(globus_sim: GlobusSimulation) -> None:
    connector = GlobusConnector(site_endpoints(globus_sim), clear=False)
    key = GlobusKey(str(uuid.uuid4()), (str(uuid.uuid4()),))
    assert not connector.exists(key)
    assert connector.get(key) is None
    connector.evict(key)  # no-op


@pytest.mark.parametrize(
    'key',
    [
        GlobusKey('../../etc/passwd', (str(uuid.uuid4()),)),
        GlobusKey(str(uuid.uuid4()), ('../endpoint/x',)),
        GlobusKey(str(uuid.uuid4()), 7),  # type: ignore[arg-type]
    ],
)
def test_invalid_keys_are_refused(
    globus_sim: GlobusSimulation,
    key: GlobusKey,
) -> None:
    connector = GlobusConnector(site_endpoints(globus_sim), clear=False)
    with pytest.raises(ValueError, match='Invalid GlobusKey'):
        connector.get(key)
    with pytest.raises(ValueError, match='Invalid GlobusKey'):
        connector.evict(key)
    assert globus_sim.count('GET', '/task/') == 0


def test_close_clears_every_site(globus_sim: GlobusSimulation) -> None:
    producer = GlobusConnector(site_endpoints(globus_sim, 0))
    consumer = GlobusConnector(site_endpoints(globus_sim, 1), clear=False)
    key = producer.put(b'x')
    assert consumer.get(key) == b'x'
    producer.close()
    for root in globus_sim.roots.values():
        assert not (root / 'proxystore').exists()
    deletes = [b for b in globus_sim.submitted if b['DATA_TYPE'] == 'delete']
    assert len(deletes) == 2
    assert all(body['recursive'] for body in deletes)
