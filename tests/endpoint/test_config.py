from __future__ import annotations

import os
import pathlib
import uuid

import pytest

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointStorageConfig
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import get_log_filepath
from proxystore.endpoint.config import get_pid_filepath
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import validate_name
from proxystore.endpoint.config import write_config
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid


def _config(name: str = 'site-a', **kwargs: object) -> EndpointConfig:
    return EndpointConfig(
        name=name,
        uuid=str(uuid.uuid4()),
        port=8765,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize('name', ['a', 'site_1', 'My-Endpoint', 'x' * 64])
def test_valid_names(name: str) -> None:
    assert validate_name(name)


@pytest.mark.parametrize(
    'name',
    ['', 'has space', '../up', 'a/b', 'x' * 65, 'semi;colon', '.hidden'],
)
def test_invalid_names(name: str) -> None:
    assert not validate_name(name)
    with pytest.raises(ValueError, match='Invalid endpoint name'):
        _config(name)
    with pytest.raises(ValueError, match='Invalid endpoint name'):
        get_endpoint_dir(name, '/tmp')


@pytest.mark.parametrize('port', [0, -1, 65536])
def test_invalid_port(port: int) -> None:
    with pytest.raises(ValueError, match='port'):
        EndpointConfig(name='a', uuid=str(uuid.uuid4()), port=port)


def test_round_trip(tmp_path: pathlib.Path) -> None:
    config = _config(
        token='secret',
        storage=EndpointStorageConfig(database_path='/tmp/x.db'),
    )
    write_config(config, str(tmp_path / 'site-a'))
    assert read_config(str(tmp_path / 'site-a')) == config


def test_home_dir_from_environment(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('PROXYSTORE_HOME', str(tmp_path))
    assert get_endpoint_dir('abc') == os.path.join(str(tmp_path), 'abc')
    write_config(_config('abc'), get_endpoint_dir('abc'))
    assert [c.name for c in get_configs()] == ['abc']


def test_get_configs_skips_broken(tmp_path: pathlib.Path) -> None:
    good = _config('good')
    write_config(good, str(tmp_path / 'good'))
    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'config.toml').write_text('port = "not toml')
    (tmp_path / 'invalid').mkdir()
    (tmp_path / 'invalid' / 'config.toml').write_text('port = 1\n')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'file.txt').write_text('x')
    assert get_configs(str(tmp_path)) == [good]
    assert get_configs(str(tmp_path / 'missing')) == []
    with pytest.raises(ValueError, match='Malformed endpoint config'):
        read_config(str(tmp_path / 'broken'))
    with pytest.raises(ValueError, match='Invalid endpoint config'):
        read_config(str(tmp_path / 'invalid'))


def test_paths() -> None:
    assert get_pid_filepath('/x/ep').startswith('/x/ep/')
    assert get_log_filepath('/x/ep').startswith('/x/ep/')


def test_urls() -> None:
    config = _config(host='127.0.0.1')
    assert config.local_url() == 'http://127.0.0.1:8765'
    assert config.public_url() == 'http://127.0.0.1:8765'
    assert config.bind_host() == '127.0.0.1'
    anywhere = _config()
    assert anywhere.bind_host() == '0.0.0.0'
    assert anywhere.local_url() == 'http://127.0.0.1:8765'
    assert _config(host='::1').local_url() == 'http://[::1]:8765'


@pytest.mark.parametrize(
    'key', ['abc', 'A-b_c.d:e', 'x' * 256, str(uuid.uuid4())]
)
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    'key',
    ['', '../etc/passwd', '/abs', 'a b', 'x' * 257, 'a\x00b', "quote'"],
)
def test_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidKeyError, match='Invalid object key'):
        validate_key(key)


def test_uuids() -> None:
    value = uuid.uuid4()
    assert validate_uuid(value) == str(value)
    assert validate_uuid(str(value).upper()) == str(value)
    with pytest.raises(InvalidKeyError, match='Invalid endpoint UUID'):
        validate_uuid('not-a-uuid')


@pytest.mark.parametrize('token', ['has space', 'line\r\nbreak', '', 'é'])
def test_invalid_tokens(token: str) -> None:
    with pytest.raises(ValueError, match='Invalid token'):
        _config(token=token)


def test_host_type_choices() -> None:
    assert _config(host_type='fqdn').advertised_host()
    assert _config(host_type='hostname').advertised_host()
    assert _config(host_type='ip').advertised_host()
    with pytest.raises(ValueError, match='host_type'):
        _config(host_type='carrier-pigeon')
