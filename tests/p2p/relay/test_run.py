"""`proxystore-relay` as a real process: config file, TLS, logs, signals."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import re
import signal
import ssl
import uuid

import pytest
from click.testing import CliRunner
from websockets.exceptions import InvalidHandshake

from proxystore.p2p.relay import run as relay_run
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.config import RelayServingConfig
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.run import periodic_client_logger
from proxystore.p2p.relay.server import RelayServer
from tests.p2p.relay.support import PORT_LINE
from tests.p2p.relay.support import in_process_relay
from tests.p2p.relay.support import relay_process
from tests.p2p.relay.support import run
from tests.p2p.relay.support import running_relay

trustme = pytest.importorskip('trustme')

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope='module')
def tls_files(tmp_path_factory: pytest.TempPathFactory):
    """A CA and a certificate for 127.0.0.1/localhost signed by it."""
    directory = tmp_path_factory.mktemp('tls')
    ca = trustme.CA()
    cert = ca.issue_cert('127.0.0.1', 'localhost')
    certfile = directory / 'relay.pem'
    keyfile = directory / 'relay.key'
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    os.chmod(keyfile, 0o600)
    return ca, certfile, keyfile


def test_tls_relay_verifies_certificates(
    tls_files: tuple[object, pathlib.Path, pathlib.Path],
    tmp_path: pathlib.Path,
) -> None:
    ca, certfile, keyfile = tls_files
    config = tmp_path / 'relay.toml'
    config.write_text(
        f'certfile = "{certfile}"\nkeyfile = "{keyfile}"\n'
        '[logging]\ncurrent_client_interval = 1\n',
    )

    async def main(address: str) -> None:
        # Default: verified against the system CAs, which do not know ours.
        untrusted = RelayClient(address, reconnect_task=False)
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusted.connect()
        context = ssl.create_default_context()
        ca.configure_trust(context)  # type: ignore[attr-defined]
        trusted = RelayClient(address, ssl_context=context)
        await trusted.connect()
        insecure = RelayClient(address, verify_certificate=False)
        await insecure.connect()
        message = PeerDataMessage(insecure.uuid, trusted.uuid, 'aGk=')
        await insecure.send(message)
        assert await trusted.recv() == message
        plain = RelayClient(address.replace('wss://', 'ws://'))
        with pytest.raises(InvalidHandshake):
            await plain.connect(retry=False)
        await trusted.close()
        await insecure.close()

    with relay_process(
        '--config',
        str(config),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
    ) as relay:
        port = int(relay.wait_for_line(PORT_LINE).group(1))
        relay.wait_for_line(re.compile('serving wss://127.0.0.1'))
        run(main(f'wss://127.0.0.1:{port}'))
        # The periodic logger lists clients with their counters.
        relay.wait_for_line(re.compile(r'Connected clients: \d+'))


def test_config_file_log_dir_and_sigterm(tmp_path: pathlib.Path) -> None:
    log_dir = tmp_path / 'logs'
    config = tmp_path / 'relay.toml'
    config.write_text(
        'port = 1\n[logging]\ndefault_level = "WARNING"\n'
        'current_client_interval = 1\n',
    )
    with relay_process(
        '-c',
        str(config),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--log-dir',
        str(log_dir),
        '--log-level',
        'info',
    ) as relay:
        port = int(relay.wait_for_line(PORT_LINE).group(1))
        assert port != 1

        async def main() -> uuid.UUID:
            async with RelayClient(f'ws://127.0.0.1:{port}') as client:
                # The relay turns down permessage-deflate.
                response = client.websocket.response
                assert response is not None
                assert 'Sec-WebSocket-Extensions' not in response.headers
                return client.uuid

        client_uuid = run(main())
        relay.process.send_signal(signal.SIGTERM)
        assert relay.process.wait(timeout=30) == 0
        output = relay.output()
    log = (log_dir / 'server.log').read_text()
    assert f'Relay server listening on port {port}' in log
    assert str(client_uuid) in log
    assert 'Relay server stopped' in output
    assert re.search(
        r'^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO  \(proxystore',
        log,
        re.MULTILINE,
    )


@pytest.mark.parametrize(
    ('text', 'error'),
    [
        ('port = "x"', 'Unable to parse'),
        ('[auth]\nmethod = "ldap"', 'Unable to parse'),
    ],
)
def test_bad_config_file(tmp_path: pathlib.Path, text: str, error: str):
    config = tmp_path / 'relay.toml'
    config.write_text(text)
    result = CliRunner().invoke(relay_run.cli, ['--config', str(config)])
    assert result.exit_code == 1
    assert error in result.output
    assert config.read_text() == text


def test_cli_options_override_the_file(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[RelayServingConfig] = []

    async def fake_serve(config: RelayServingConfig) -> None:
        seen.append(config)

    config = tmp_path / 'relay.toml'
    config.write_text('host = "localhost"\nport = 9000\n')
    monkeypatch.setattr(relay_run, 'serve', fake_serve)
    root = logging.getLogger()
    monkeypatch.setattr(root, 'handlers', list(root.handlers))
    monkeypatch.setattr(root, 'level', root.level)
    result = CliRunner().invoke(
        relay_run.cli,
        [
            '-c',
            str(config),
            '--port',
            '9001',
            '--host',
            '::1',
            '--log-level',
            'DEBUG',
            '--allow-public-without-auth',
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen[0].port == 9001
    assert seen[0].host == '::1'
    assert seen[0].logging.default_level == 'DEBUG'
    assert seen[0].allow_public_without_auth


def test_unbindable_port_is_a_clear_error() -> None:
    with running_relay() as address:
        port = address.rsplit(':', 1)[1]
        with relay_process('--host', '127.0.0.1', '--port', port) as relay:
            assert relay.process.wait(timeout=30) == 1
            output = relay.output()
    assert f'Cannot serve the relay on 127.0.0.1:{port}' in output


def test_periodic_client_logger(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator())
        async with in_process_relay(server) as (_, address):
            async with RelayClient(address, client_name='logged'):
                with caplog.at_level(logging.INFO):
                    task = periodic_client_logger(server, 0.05, limit=None)
                    while 'forwarded=' not in caplog.text:
                        await asyncio.sleep(0.02)
                    task.cancel()
                    small = periodic_client_logger(server, 0.05, limit=1)
                    caplog.clear()
                    while 'Connected clients: 1' not in caplog.text:
                        await asyncio.sleep(0.02)
                    small.cancel()
                    assert "name='logged'" not in caplog.text

    run(main())


def test_exposure_warnings(caplog: pytest.LogCaptureFixture) -> None:
    config = RelayServingConfig(host='0.0.0.0', allow_public_without_auth=True)
    with caplog.at_level(logging.WARNING):
        relay_run._warn_exposure(config, '0.0.0.0')
    assert 'WITHOUT authentication' in caplog.text
    assert 'without TLS' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        relay_run._warn_exposure(RelayServingConfig(), 'localhost')
    assert caplog.text == ''


def test_readable_key_file_is_warned_about(
    tls_files: tuple[object, pathlib.Path, pathlib.Path],
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, certfile, keyfile = tls_files
    loose = tmp_path / 'loose.key'
    loose.write_bytes(keyfile.read_bytes())
    os.chmod(loose, 0o644)
    config = RelayServingConfig(certfile=str(certfile), keyfile=str(loose))
    with caplog.at_level(logging.WARNING):
        context = relay_run._ssl_context(config)
    assert context is not None
    assert 'readable by other users (mode 644)' in caplog.text
    missing = RelayServingConfig(certfile=str(tmp_path / 'missing.pem'))
    with pytest.raises(OSError):
        relay_run._ssl_context(missing)


def test_old_relay_path_is_a_deprecated_alias() -> None:
    import importlib
    import sys

    sys.modules.pop('proxystore.endpoint.relay', None)
    sys.modules.pop('proxystore.endpoint.relay.cli', None)
    with pytest.warns(DeprecationWarning, match='proxystore.p2p.relay'):
        old = importlib.import_module('proxystore.endpoint.relay')
    assert old.RelayServer is RelayServer
    old_cli = importlib.import_module('proxystore.endpoint.relay.cli')
    assert old_cli.cli is relay_run.cli


def test_console_script_points_at_the_new_relay() -> None:
    import importlib.metadata

    (script,) = importlib.metadata.entry_points(
        group='console_scripts',
        name='proxystore-relay',
    )
    assert script.value == 'proxystore.p2p.relay.run:cli'
    assert script.load() is relay_run.cli
