from __future__ import annotations

import logging
import pathlib

import pytest

from proxystore.p2p.relay.config import RelayAuthConfig
from proxystore.p2p.relay.config import RelayServingConfig
from proxystore.p2p.relay.config import bind_host
from proxystore.p2p.relay.config import is_loopback

FULL = """
host = "127.0.0.1"
port = 9000
certfile = "/tmp/cert.pem"
keyfile = "/tmp/key.pem"
max_message_bytes = 2048

[auth]
method = "globus"

[auth.kwargs]
client_id = "abc"
client_secret = "xyz"

[logging]
log_dir = "/tmp/logs"
default_level = "DEBUG"
websockets_level = 10
current_client_interval = 5
current_client_limit = 8
unknown_logging_key = 1

[peer_data]
bytes_per_second = 1000
"""


def test_defaults() -> None:
    config = RelayServingConfig()
    assert config.host is None
    assert config.port == 8700
    assert config.certfile is None
    assert config.keyfile is None
    assert config.auth.method is None
    assert config.auth.kwargs == {}
    assert config.logging.log_dir is None
    assert config.logging.default_level == logging.INFO
    assert config.logging.websockets_level == logging.WARNING
    assert config.logging.current_client_interval == 60
    assert config.logging.current_client_limit == 32
    assert config.max_message_bytes is None
    assert config.allow_public_without_auth is False
    assert config.peer_data.enabled


def test_from_toml(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'relay.toml'
    path.write_text(FULL)
    config = RelayServingConfig.from_toml(path)
    assert config.host == '127.0.0.1'
    assert config.port == 9000
    assert config.certfile == '/tmp/cert.pem'
    assert config.auth.method == 'globus'
    assert config.auth.kwargs == {'client_id': 'abc', 'client_secret': 'xyz'}
    assert config.logging.default_level == 'DEBUG'
    assert config.logging.current_client_limit == 8
    assert config.max_message_bytes == 2048
    assert config.peer_data.bytes_per_second == 1000
    assert RelayServingConfig.from_toml(str(path)) == config


def test_auth_kwargs_are_not_in_repr() -> None:
    config = RelayAuthConfig(method='globus', kwargs={'client_secret': 'x1'})
    assert 'x1' not in repr(config)


@pytest.mark.parametrize(
    ('text', 'error'),
    [
        ('port = "8700"', 'port'),
        ('port = 70000', 'port'),
        ('[auth]\nmethod = "ldap"', 'method'),
        ('[auth]\nmethod = "globus"\nextra = 1', 'extra'),
        ('host = ', 'Unable to parse'),
        ('[peer_data]\nmax_frame_bytes = 0', 'max_frame_bytes'),
    ],
)
def test_from_toml_errors(tmp_path: pathlib.Path, text: str, error: str):
    path = tmp_path / 'relay.toml'
    path.write_text(text)
    with pytest.raises(ValueError, match=error) as info:
        RelayServingConfig.from_toml(path)
    assert str(path) in str(info.value)
    assert path.read_text() == text


def test_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        RelayServingConfig.from_toml(tmp_path / 'missing.toml')


@pytest.mark.parametrize(
    ('host', 'loopback'),
    [
        ('localhost', True),
        ('LOCALHOST', True),
        ('127.0.0.1', True),
        ('127.1.2.3', True),
        ('::1', True),
        ('[::1]', True),
        ('0.0.0.0', False),
        ('::', False),
        ('', False),
        ('10.0.0.1', False),
        ('relay.example.org', False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_without_auth_the_relay_binds_loopback() -> None:
    assert bind_host(RelayServingConfig()) == 'localhost'
    assert bind_host(RelayServingConfig(host='127.0.0.1')) == '127.0.0.1'


@pytest.mark.parametrize('host', ['0.0.0.0', '', 'relay.example.org'])
def test_without_auth_a_public_bind_needs_the_flag(host: str) -> None:
    with pytest.raises(ValueError, match='allow-public-without-auth'):
        bind_host(RelayServingConfig(host=host))
    allowed = RelayServingConfig(host=host, allow_public_without_auth=True)
    assert bind_host(allowed) == host


def test_with_auth_the_default_is_every_interface() -> None:
    auth = RelayAuthConfig(method='globus')
    assert bind_host(RelayServingConfig(auth=auth)) is None
    assert bind_host(RelayServingConfig(auth=auth, host='0.0.0.0')) == (
        '0.0.0.0'
    )
