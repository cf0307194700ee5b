from __future__ import annotations

import os
import pathlib
import stat
import uuid

import pytest

from proxystore.endpoint.config import ENDPOINT_CONFIG_FILE
from proxystore.endpoint.config import ENDPOINT_DATABASE_FILE
from proxystore.endpoint.config import ENDPOINT_LOG_FILE
from proxystore.endpoint.config import ENDPOINT_PID_FILE
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import EndpointStorageConfig
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import get_log_filepath
from proxystore.endpoint.config import get_pid_filepath
from proxystore.endpoint.config import is_loopback
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import validate_name
from proxystore.endpoint.config import write_config
from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.constants import MAX_OBJECT_SIZE_DEFAULT
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid

UPSTREAM_CONFIG = """\
name = "my-endpoint"
uuid = "{uuid}"
port = 9753
host_type = "ip"

[relay]
address = "wss://relay.proxystore.dev"
peer_channels = 1
verify_certificate = true

[relay.auth]
method = "globus"

[relay.auth.kwargs]

[storage]
max_object_size = 100000000
"""


def _config(name: str = 'site-a', **kwargs: object) -> EndpointConfig:
    return EndpointConfig(
        name=name,
        uuid=str(uuid.uuid4()),
        port=8765,
        **kwargs,  # type: ignore[arg-type]
    )


def _write(directory: pathlib.Path, text: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / 'config.toml').write_text(text)
    return str(directory)


def test_constants_and_file_names() -> None:
    assert MAX_CHUNK_LENGTH == 1_000_000
    assert MAX_OBJECT_SIZE_DEFAULT == 100_000_000
    assert ENDPOINT_CONFIG_FILE == 'config.toml'
    assert ENDPOINT_DATABASE_FILE == 'blobs.db'
    assert ENDPOINT_LOG_FILE == 'log.txt'
    assert ENDPOINT_PID_FILE == 'daemon.pid'
    assert get_pid_filepath('/x/ep') == '/x/ep/daemon.pid'
    assert get_log_filepath('/x/ep') == '/x/ep/log.txt'


def test_upstream_config_file_is_read(tmp_path: pathlib.Path) -> None:
    value = str(uuid.uuid4())
    directory = _write(
        tmp_path / 'my-endpoint',
        UPSTREAM_CONFIG.format(uuid=value),
    )
    config = read_config(directory)
    assert config.name == 'my-endpoint'
    assert config.uuid == value
    assert config.host is None
    assert config.host_type == 'ip'
    assert config.relay.address == 'wss://relay.proxystore.dev'
    assert config.relay.auth.method == 'globus'
    assert config.relay.auth.kwargs == {}
    assert config.relay.peer_channels == 1
    assert config.relay.verify_certificate
    assert config.storage.max_object_size == 100_000_000
    assert config.token is None
    assert [c.name for c in get_configs(str(tmp_path))] == ['my-endpoint']


def test_static_host_and_unknown_keys(tmp_path: pathlib.Path) -> None:
    text = UPSTREAM_CONFIG.format(uuid=uuid.uuid4()).replace(
        'host_type = "ip"',
        'host_type = "static"\nhost = "10.0.0.7"\nfuture_key = 1',
    )
    text = text.replace('[storage]', '[storage]\nnew_option = "x"')
    config = read_config(_write(tmp_path / 'ep', text))
    assert config.host_type == 'static'
    assert config.host == '10.0.0.7'


def test_reading_is_strict(tmp_path: pathlib.Path) -> None:
    text = UPSTREAM_CONFIG.format(uuid=uuid.uuid4())
    directory = _write(tmp_path / 'ep', text.replace('9753', '"9753"'))
    with pytest.raises(ValueError, match=r'Unable to parse \(.*config.toml'):
        read_config(directory)
    directory = _write(
        tmp_path / 'ep2',
        text.replace('method = "globus"', 'method = "globus"\nextra = 1'),
    )
    with pytest.raises(ValueError, match='Unable to parse'):
        read_config(directory)
    with pytest.raises(FileNotFoundError):
        read_config(str(tmp_path / 'missing'))


@pytest.mark.parametrize(
    ('changes', 'message'),
    [
        ({'name': 'has space'}, 'alphanumeric characters, dashes'),
        ({'uuid': 'nope'}, '"nope" is not a valid UUID4 string'),
        ({'port': 0}, r'Port must be in range \[1, 65535\]'),
        ({'port': 65536}, r'Port must be in range \[1, 65535\]'),
        ({'token': 'two words'}, 'Invalid token'),
    ],
)
def test_validators(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        'name': 'a',
        'uuid': str(uuid.uuid4()),
        'port': 1,
    }
    fields.update(changes)
    with pytest.raises(ValueError, match=message):
        EndpointConfig(**fields)  # type: ignore[arg-type]


def test_nested_validators() -> None:
    with pytest.raises(ValueError, match='Server must start with ws://'):
        EndpointRelayConfig(address='http://relay:8700')
    with pytest.raises(ValueError, match='peer_channels'):
        EndpointRelayConfig(peer_channels=0)
    with pytest.raises(ValueError, match='Max object size must be None'):
        EndpointStorageConfig(max_object_size=0)
    assert EndpointStorageConfig(max_object_size=None).max_object_size is None
    assert _config().relay.auth.method is None


@pytest.mark.parametrize('name', ['a', 'site_1', 'My-Endpoint', 'x' * 200])
def test_valid_names(name: str) -> None:
    assert validate_name(name)


@pytest.mark.parametrize(
    'name',
    ['', 'has space', '../up', 'a/b', 'semi;colon', '.hidden'],
)
def test_invalid_names(name: str) -> None:
    assert not validate_name(name)
    with pytest.raises(ValueError, match='alphanumeric characters'):
        _config(name)
    with pytest.raises(ValueError, match='Invalid endpoint name'):
        get_endpoint_dir(name, '/tmp')


def test_round_trip_is_private(tmp_path: pathlib.Path) -> None:
    config = _config(
        token='secret',
        storage=EndpointStorageConfig(database_path='/tmp/x.db'),
    )
    directory = tmp_path / 'site-a'
    write_config(config, str(directory))
    assert read_config(str(directory)) == config
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    path = directory / 'config.toml'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert 'allow_unauthenticated' not in path.read_text()


def test_rewrite_tightens_loose_permissions(tmp_path: pathlib.Path) -> None:
    # An upstream-written config is 0644 in a 0755 folder; once we write
    # a token into it, neither may stay readable by others.
    directory = pathlib.Path(
        _write(tmp_path / 'ep', UPSTREAM_CONFIG.format(uuid=uuid.uuid4())),
    )
    os.chmod(directory, 0o755)
    os.chmod(directory / 'config.toml', 0o644)
    config = read_config(str(directory)).model_copy(update={'token': 't'})
    write_config(config, str(directory))
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / 'config.toml').st_mode) == 0o600


def test_home_dir_from_environment(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('PROXYSTORE_HOME', str(tmp_path))
    assert get_endpoint_dir('abc') == os.path.join(str(tmp_path), 'abc')
    write_config(_config('abc'), get_endpoint_dir('abc'))
    assert [c.name for c in get_configs()] == ['abc']


def test_get_configs_recurses_and_skips_broken(tmp_path: pathlib.Path) -> None:
    good = _config('good')
    nested = _config('nested')
    write_config(good, str(tmp_path / 'good'))
    write_config(nested, str(tmp_path / 'group' / 'nested'))
    _write(tmp_path / 'broken', 'port = "not toml')
    _write(tmp_path / 'invalid', 'port = 1\n')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'file.txt').write_text('x')
    assert get_configs(str(tmp_path)) == [good, nested]
    assert get_configs(str(tmp_path / 'missing')) == []
    with pytest.raises(ValueError, match='Unable to parse'):
        read_config(str(tmp_path / 'broken'))


def test_urls() -> None:
    config = _config(host='127.0.0.1')
    assert config.local_url() == 'http://127.0.0.1:8765'
    assert config.bind_host() == '127.0.0.1'
    assert _config(host='0.0.0.0').local_url() == 'http://127.0.0.1:8765'
    assert _config(host='::1').local_url() == 'http://[::1]:8765'
    assert _config(host='h', certfile='c.pem').local_url() == 'https://h:8765'
    with pytest.raises(ValueError, match='NoneType as host'):
        _config().bind_host()


@pytest.mark.parametrize(
    ('host', 'loopback'),
    [
        ('127.0.0.1', True),
        ('127.0.1.1', True),
        ('::1', True),
        ('localhost', True),
        ('0.0.0.0', False),
        ('::', False),
        ('10.1.2.3', False),
        ('name.invalid', False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


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
    for host_type in ('fqdn', 'hostname', 'ip', 'static'):
        assert _config(host_type=host_type).host_type == host_type
    with pytest.raises(ValueError, match='host_type'):
        _config(host_type='carrier-pigeon')
