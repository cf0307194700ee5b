"""MultiConnector routing over real Local, File and Redis children."""

from __future__ import annotations

import multiprocessing
import pathlib
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest
import redis

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import MultiConnectorError
from proxystore.connectors.multi import MultiKey
from proxystore.connectors.multi import Policy
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisConnectorError
from proxystore.utils.environment import hostname
from tests.fixtures.ports import free_port
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import calls_during

SPAWN = multiprocessing.get_context('spawn')
NOT_THIS_HOST = 'not-' + re.escape(hostname())


@pytest.fixture
def children(
    redis_server: RedisServer,
    tmp_path: pathlib.Path,
) -> Iterator[dict[str, Any]]:
    connectors = {
        'local': LocalConnector(),
        'file': FileConnector(str(tmp_path / 'file'), clear=False),
        'redis': RedisConnector(
            redis_server.host,
            redis_server.port,
            clear=True,
        ),
    }
    yield connectors
    for connector in connectors.values():
        connector.close()


# --- Policy -----------------------------------------------------------


def test_policy_defaults_admit_everything_without_tags() -> None:
    policy = Policy()
    assert policy.is_valid()
    assert policy.is_valid(size_bytes=0, subset_tags=[], superset_tags=[])
    assert policy.is_valid(size_bytes=sys.maxsize)
    assert policy.is_valid_on_host()


def test_policy_size_bounds_are_inclusive() -> None:
    policy = Policy(min_size_bytes=10, max_size_bytes=20)
    assert not policy.is_valid(size_bytes=9)
    assert policy.is_valid(size_bytes=10)
    assert policy.is_valid(size_bytes=20)
    assert not policy.is_valid(size_bytes=21)
    assert policy.is_valid()  # size unknown: not checked


def test_policy_subset_tags() -> None:
    policy = Policy(subset_tags=['fast', 'small'])
    assert policy.is_valid(subset_tags=[])
    assert policy.is_valid(subset_tags=['fast'])
    assert policy.is_valid(subset_tags=['small', 'fast'])
    assert not policy.is_valid(subset_tags=['fast', 'durable'])


def test_policy_superset_tags() -> None:
    policy = Policy(superset_tags=['gpu'])
    assert not policy.is_valid(superset_tags=[])
    assert policy.is_valid(superset_tags=['gpu'])
    assert policy.is_valid(superset_tags=['gpu', 'other'])
    assert Policy().is_valid(superset_tags=['anything'])


def test_policy_host_pattern() -> None:
    name = hostname()
    assert Policy(host_pattern=re.escape(name)).is_valid_on_host()
    assert Policy(host_pattern='.*').is_valid_on_host()
    assert Policy(host_pattern=[NOT_THIS_HOST, '.*']).is_valid_on_host()
    assert not Policy(host_pattern=NOT_THIS_HOST).is_valid_on_host()
    # The whole hostname must match, not a prefix.
    assert not Policy(host_pattern=re.escape(name[:-1])).is_valid_on_host()


def test_policy_as_dict_round_trip() -> None:
    policy = Policy(
        priority=3,
        host_pattern=['a.*', 'b'],
        min_size_bytes=1,
        max_size_bytes=99,
        subset_tags=['x'],
        superset_tags=['y'],
    )
    as_dict = policy.as_dict()
    assert as_dict == {
        'priority': 3,
        'host_pattern': ['a.*', 'b'],
        'min_size_bytes': 1,
        'max_size_bytes': 99,
        'subset_tags': ['x'],
        'superset_tags': ['y'],
    }
    assert Policy(**as_dict) == policy


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'min_size_bytes': 10, 'max_size_bytes': 5}, 'exceeds'),
        ({'min_size_bytes': -1}, 'negative'),
        ({'host_pattern': '(unclosed'}, 'host_pattern'),
        ({'subset_tags': 'abc'}, 'list of tags'),
    ],
)
def test_policy_rejects_bad_values(kwargs: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy(**kwargs)


# --- routing ----------------------------------------------------------


def test_key_is_small_readable_and_picklable() -> None:
    key = MultiKey('local', ('inner',))
    assert (
        repr(key)
        == "MultiKey(connector_name='local', connector_key=('inner',))"
    )


def test_routes_by_priority_then_size(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {
            'local': (
                children['local'],
                Policy(priority=2, max_size_bytes=10),
            ),
            'file': (children['file'], Policy(priority=1, max_size_bytes=100)),
            'redis': (children['redis'], Policy(priority=0)),
        },
    )
    tiny, medium, large = b'x' * 10, b'y' * 100, b'z' * 101
    keys = [multi.put(tiny), multi.put(medium), multi.put(large)]
    assert [key.connector_name for key in keys] == ['local', 'file', 'redis']
    assert [multi.get(key) for key in keys] == [tiny, medium, large]
    # Each object really lives in the chosen child.
    assert children['file'].get(keys[1].connector_key) == medium
    assert children['redis'].get(keys[2].connector_key) == large


def test_priority_beats_listing_order(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {
            'low': (children['local'], Policy(priority=-5)),
            'middle': (children['file'], Policy(priority=0)),
            'high': (children['redis'], Policy(priority=7)),
        },
    )
    key = multi.put(b'data')
    assert key.connector_name == 'high'
    assert children['redis'].get(key.connector_key) == b'data'
    assert multi.new_key().connector_name == 'high'
    # Once the highest cannot take an object, the next one does.
    multi = MultiConnector(
        {
            'low': (children['local'], Policy(priority=-5)),
            'middle': (children['file'], Policy(priority=0)),
            'high': (children['redis'], Policy(priority=7, max_size_bytes=2)),
        },
    )
    assert multi.put(b'data').connector_name == 'middle'


def test_ties_go_to_the_first_listed(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {
            'file': (children['file'], Policy()),
            'local': (children['local'], Policy()),
        },
    )
    assert multi.put(b'data').connector_name == 'file'


def test_routes_by_tags(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {
            'local': (
                children['local'],
                Policy(priority=9, superset_tags=['hot']),
            ),
            'file': (children['file'], Policy(subset_tags=['archive', 'big'])),
            'redis': (
                children['redis'],
                Policy(priority=-1, subset_tags=['other', 'big']),
            ),
        },
    )
    # superset_tags: the object's tags must include all the policy's.
    assert multi.put(b'a', superset_tags=['hot']).connector_name == 'local'
    assert multi.put(b'a', superset_tags=['hot', 'x']).connector_name == (
        'local'
    )
    # subset_tags: the object's tags must all be among the policy's.
    assert multi.put(b'b', subset_tags=['archive']).connector_name == 'file'
    assert multi.put(b'c').connector_name == 'file'
    assert multi.put(b'd', subset_tags=['other']).connector_name == 'redis'
    assert multi.put(b'e', subset_tags=['big']).connector_name == 'file'
    with pytest.raises(
        MultiConnectorError,
        match='No connector policy was suitable for the constraints',
    ):
        multi.put(b'f', subset_tags=['archive', 'other'])


def test_no_admissible_connector_stores_nothing(
    children: dict[str, Any],
    redis_client: redis.Redis,
    tmp_path: pathlib.Path,
) -> None:
    multi = MultiConnector(
        {
            'file': (children['file'], Policy(max_size_bytes=10)),
            'redis': (children['redis'], Policy(max_size_bytes=20)),
        },
    )
    size = redis_client.dbsize()
    with pytest.raises(
        MultiConnectorError,
        match='No connector policy was suitable for the constraints',
    ):
        multi.put(b'x' * 21)
    with pytest.raises(
        MultiConnectorError,
        match='No connector policy was suitable for the constraints',
    ):
        multi.put_batch([b'ok', b'x' * 21])
    with pytest.raises(
        MultiConnectorError,
        match='No connector policy was suitable for the constraints',
    ):
        multi.put(b'ok', subset_tags=['unknown'])
    assert redis_client.dbsize() == size
    assert list((tmp_path / 'file').iterdir()) == []


def test_put_rejects_non_bytes(children: dict[str, Any]) -> None:
    multi = MultiConnector({'local': (children['local'], Policy())})
    with pytest.raises(TypeError, match='bytes-like'):
        multi.put('text')  # type: ignore[arg-type]


def test_batches_make_one_call_per_child(
    children: dict[str, Any],
    redis_client: redis.Redis,
) -> None:
    multi = MultiConnector(
        {
            'file': (children['file'], Policy(priority=1, max_size_bytes=4)),
            'redis': (children['redis'], Policy()),
        },
    )
    objs = [b'a', b'long one', b'b', b'another long', b'c']
    keys: list[MultiKey] = []
    calls = calls_during(
        redis_client, lambda: keys.extend(multi.put_batch(objs))
    )
    assert calls == {'mset': 1}
    assert [key.connector_name for key in keys] == [
        'file',
        'redis',
        'file',
        'redis',
        'file',
    ]
    multi.evict(keys[2])
    batch = [keys[4], keys[3], keys[2], keys[1], keys[0]]
    results: list[Any] = []
    calls = calls_during(
        redis_client, lambda: results.extend(multi.get_batch(batch))
    )
    assert calls == {'mget': 1}
    assert [None if r is None else bytes(r) for r in results] == [
        b'c',
        b'another long',
        None,
        b'long one',
        b'a',
    ]


def test_exists_evict_and_deferred_set(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {
            'local': (children['local'], Policy(max_size_bytes=3)),
            'redis': (children['redis'], Policy(priority=-1)),
        },
    )
    key = multi.new_key(b'a much larger object')
    assert key.connector_name == 'redis'
    assert not multi.exists(key)
    multi.set(key, b'a much larger object')
    assert multi.exists(key)
    assert multi.get(key) == b'a much larger object'
    multi.evict(key)
    assert not multi.exists(key)
    assert multi.get(key) is None


def test_unknown_connector_name(children: dict[str, Any]) -> None:
    multi = MultiConnector({'local': (children['local'], Policy())})
    key = MultiKey('elsewhere', ('x',))
    for operation in (multi.get, multi.exists, multi.evict):
        with pytest.raises(MultiConnectorError, match='does not exist'):
            operation(key)


def test_child_failure_surfaces_and_loses_nothing(
    children: dict[str, Any],
    tmp_path: pathlib.Path,
) -> None:
    broken = RedisConnector('127.0.0.1', free_port())
    multi = MultiConnector(
        {
            'file': (children['file'], Policy(max_size_bytes=5)),
            'broken': (broken, Policy(priority=-1)),
        },
    )
    kept = multi.put(b'kept')
    with pytest.raises(RedisConnectorError, match='unreachable'):
        multi.put(b'routed to the unreachable server')
    with pytest.raises(RedisConnectorError, match='unreachable'):
        multi.put_batch([b'small', b'for the unreachable server', b'tiny'])
    # The batch's objects already stored in the file child were rolled back.
    assert [p.name for p in (tmp_path / 'file').iterdir()] == [
        kept.connector_key.filename,
    ]
    assert multi.get(kept) == b'kept'
    multi.close()


def test_close_closes_children(
    redis_server: RedisServer, tmp_path: pathlib.Path
) -> None:
    store_dir = tmp_path / 'cleared'
    multi = MultiConnector({'file': (FileConnector(str(store_dir)), Policy())})
    multi.put(b'x')
    with multi:
        pass
    assert not store_dir.exists()  # FileConnector(clear=True) removed it


# --- configuration and dormant connectors -----------------------------


def test_config_embeds_children_and_policies(
    children: dict[str, Any],
    redis_server: RedisServer,
) -> None:
    policy = Policy(priority=1, subset_tags=['t'])
    far = (
        'proxystore.connectors.file.FileConnector',
        {'store_dir': '/elsewhere'},
        Policy(host_pattern=NOT_THIS_HOST).as_dict(),
    )
    multi = MultiConnector(
        {'redis': (children['redis'], policy)},
        dormant_connectors={'far': far},
    )
    config = multi.config()
    assert config == {
        'redis': (
            'proxystore.connectors.redis.RedisConnector',
            children['redis'].config(),
            policy.as_dict(),
        ),
        'far': far,
    }
    copy = MultiConnector.from_config(config)
    assert copy.config() == config
    assert copy.dormant_connectors == {'far': far}
    key = multi.put(b'shared', subset_tags=['t'])
    assert copy.get(key) == b'shared'


def test_dormant_connectors_are_not_opened(tmp_path: pathlib.Path) -> None:
    here = tmp_path / 'here'
    there = tmp_path / 'there'
    config: dict[str, Any] = {
        'here': (
            'proxystore.connectors.file.FileConnector',
            {'store_dir': str(here)},
            Policy(host_pattern='.*').as_dict(),
        ),
        # Lists (as read back from TOML) and short kinds work too.
        'there': [
            'file',
            {'store_dir': str(there)},
            Policy(priority=5, host_pattern=NOT_THIS_HOST).as_dict(),
        ],
    }
    multi = MultiConnector.from_config(config)
    assert here.is_dir()
    assert not there.exists()  # never opened on this host
    assert list(multi.connectors) == ['here']
    key = multi.put(b'data')  # 'there' has priority but is dormant
    assert key.connector_name == 'here'
    with pytest.raises(MultiConnectorError, match='is dormant'):
        multi.get(MultiKey('there', ('some-file',)))
    # The dormant entry is kept verbatim for processes on other hosts.
    assert multi.config()['there'] == config['there']
    assert multi.config()['here'][0] == (
        'proxystore.connectors.file.FileConnector'
    )
    multi.close()


@pytest.mark.parametrize(
    ('entry', 'error', 'match'),
    [
        (('file', {}), ValueError, 'triple'),
        ('file', ValueError, 'triple'),
        (('nope', {}, Policy().as_dict()), ValueError, '"nope"'),
        (('file', {'bogus': 1}, Policy().as_dict()), TypeError, 'bogus'),
    ],
)
def test_from_config_bad_entries(
    entry: Any,
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        MultiConnector.from_config({'bad': entry})


def test_open_child_for_another_host_gets_no_new_objects(
    children: dict[str, Any],
) -> None:
    multi = MultiConnector(
        {
            'far': (
                children['local'],
                Policy(priority=5, host_pattern=NOT_THIS_HOST),
            ),
            'near': (children['file'], Policy()),
        },
    )
    assert multi.put(b'data').connector_name == 'near'
    far_key = MultiKey('far', children['local'].put(b'far data'))
    assert multi.get(far_key) == b'far data'


def test_active_and_dormant_names_must_differ(
    children: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match='both active and dormant'):
        MultiConnector(
            {'local': (children['local'], Policy())},
            dormant_connectors={
                'local': ('x.Y', {}, Policy().as_dict()),
            },
        )


def test_store_config_toml_round_trip(
    multi_connector: MultiConnector,
    tmp_path: pathlib.Path,
) -> None:
    from proxystore.store.config import ConnectorConfig
    from proxystore.store.config import StoreConfig

    config = StoreConfig(
        name='multi-toml',
        connector=ConnectorConfig(
            kind='multi', options=multi_connector.config()
        ),
    )
    path = tmp_path / 'store.toml'
    config.write_toml(path)
    rebuilt = StoreConfig.from_toml(path).connector.get_connector()
    assert isinstance(rebuilt, MultiConnector)
    small, large = multi_connector.put_batch([b'small', b'L' * 1000])
    assert {small.connector_name, large.connector_name} == {'file', 'redis'}
    assert [bytes(b) for b in rebuilt.get_batch([small, large])] == [  # type: ignore[arg-type]
        b'small',
        b'L' * 1000,
    ]


# --- across processes -------------------------------------------------


def child_get_all(config: dict[str, Any], keys: list[MultiKey]) -> list[Any]:
    connector = MultiConnector.from_config(config)
    return [None if r is None else bytes(r) for r in connector.get_batch(keys)]


def child_use_dormant(config: dict[str, Any], key: MultiKey) -> str:
    connector = MultiConnector.from_config(config)
    assert connector.config() == config
    try:
        connector.get(key)
    except MultiConnectorError as e:
        return str(e)
    return 'no error'


def test_router_rebuilt_in_spawned_process(
    multi_connector: MultiConnector,
    tmp_path: pathlib.Path,
) -> None:
    big = np.random.default_rng(0).bytes(2 * 1024 * 1024 + 1)
    keys = multi_connector.put_batch([b'small', big])
    assert [key.connector_name for key in keys] == ['file', 'redis']
    config = multi_connector.config()
    # A child for other hosts travels with the router and stays dormant.
    far = tmp_path / 'far'
    config['far'] = (
        'proxystore.connectors.file.FileConnector',
        {'store_dir': str(far)},
        Policy(priority=9, host_pattern=NOT_THIS_HOST).as_dict(),
    )
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        results = pool.submit(child_get_all, config, keys).result()
        message = pool.submit(
            child_use_dormant,
            config,
            MultiKey('far', ('some-file',)),
        ).result()
    assert results == [b'small', big]
    assert 'dormant' in message
    assert not far.exists()


def child_describe(proxy: Any) -> tuple[bool, int]:
    return isinstance(proxy, list), sum(proxy)


def test_store_proxies_with_tags_resolve_in_spawned_process(
    multi_connector: MultiConnector,
) -> None:
    from proxystore.store import Store

    with Store('test-multi-spawn', multi_connector) as store:
        # Store.put passes routing tags on to MultiConnector.put.
        with pytest.raises(
            MultiConnectorError,
            match='No connector policy was suitable for the constraints',
        ):
            store.put([1, 2, 3], subset_tags=['untagged-policy'])
        assert store.put(b'tiny').connector_name == 'file'
        proxy = store.proxy(list(range(1000)), populate_target=False)
        with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
            assert pool.submit(child_describe, proxy).result() == (
                True,
                sum(range(1000)),
            )


# --- public attributes and the host check at call time ---------------


def test_public_attributes(children: dict[str, Any]) -> None:
    low, high = Policy(priority=-1), Policy(priority=3)
    multi = MultiConnector(
        {
            'a': (children['local'], low),
            'b': (children['file'], Policy()),
            'c': (children['redis'], high),
            'd': (children['local'], Policy()),
        },
    )
    assert multi.connectors_by_priority == ['c', 'b', 'd', 'a']
    assert multi.connectors['c'].connector is children['redis']
    assert multi.connectors['c'].policy is high
    connector, policy = multi.connectors['a']
    assert (connector, policy) == (children['local'], low)
    assert multi.dormant_connectors == {}


def test_host_is_checked_at_call_time(
    children: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import proxystore.utils

    policy = Policy(priority=5, host_pattern='gpu-node-\\d+')
    assert not policy.is_valid()
    multi = MultiConnector(
        {
            'gpu': (children['local'], policy),
            'any': (children['file'], Policy()),
        },
    )
    assert multi.put(b'x').connector_name == 'any'
    monkeypatch.setattr(proxystore.utils, 'hostname', lambda: 'gpu-node-7')
    assert policy.is_valid_on_host()
    assert policy.is_valid(size_bytes=1)
    assert multi.put(b'x').connector_name == 'gpu'
    monkeypatch.setattr(proxystore.utils, 'hostname', lambda: 'gpu-node-x')
    assert multi.put(b'x').connector_name == 'any'


def test_no_admissible_connector_message(children: dict[str, Any]) -> None:
    multi = MultiConnector(
        {'local': (children['local'], Policy(subset_tags=['a']))},
    )
    with pytest.raises(MultiConnectorError) as info:
        multi.put(b'x', subset_tags=['b'], superset_tags=['c'])
    message = str(info.value)
    assert message.startswith(
        'No connector policy was suitable for the constraints:',
    )
    assert "subset_tags=['b']" in message
    assert "superset_tags=['c']" in message


def test_logging(
    children: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger='proxystore.connectors.multi')
    multi = MultiConnector({'local': (children['local'], Policy())})
    key = multi.put(b'x')
    multi.get(key)
    records = [r for r in caplog.records if r.name == multi_logger_name]
    assert [r.levelno for r in records][0] == logging.INFO
    assert records[0].getMessage().startswith('Initialized MultiConnector(')
    per_op = [r for r in records[1:]]
    assert per_op and all(r.levelno == logging.DEBUG for r in per_op)
    assert any(str(key) in r.getMessage() for r in per_op)


multi_logger_name = 'proxystore.connectors.multi'
