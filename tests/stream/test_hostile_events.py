"""A hostile event cannot make a consumer import a module (issue 12).

Each message below names a module whose import-time code creates a file.
The consumer runs in a fresh interpreter with that module on `sys.path`:
every message is refused with a clear error, the module is never imported
and the file never appears. A positive control registers the module as a
connector kind, after which the same key type *is* imported.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

HOSTILE = textwrap.dedent(
    """
    import pathlib
    from typing import NamedTuple

    pathlib.Path(__file__).with_name('imported.marker').write_text('boom')


    class Key(NamedTuple):
        name: str


    class HostileConnector:
        pass


    def deserializer(data):
        return data
    """,
)

CONSUMER = textwrap.dedent(
    """
    import json
    import pathlib
    import queue
    import sys
    import warnings

    warnings.simplefilter('ignore')

    from proxystore.stream import StreamConsumer
    from proxystore.stream.events import EndOfStreamEvent
    from proxystore.stream.events import bytes_to_event
    from proxystore.stream.events import event_to_bytes
    from proxystore.stream.exceptions import EventDecodeError
    from proxystore.stream.shims.queue import QueueSubscriber

    marker = pathlib.Path(sys.argv[1]) / 'imported.marker'
    messages = json.loads(sys.argv[2])
    errors = []
    for message in messages:
        try:
            bytes_to_event(message.encode())
        except EventDecodeError as e:
            errors.append(str(e))
        else:
            raise AssertionError(f'accepted: {message}')
    # The same messages through a consumer: each one is an error, then
    # the stream goes on.
    q = queue.Queue()
    for message in messages:
        q.put(message.encode())
    q.put(event_to_bytes(EndOfStreamEvent('t')))
    consumer = StreamConsumer(QueueSubscriber(q, timeout=5))
    for _ in messages:
        try:
            consumer.next()
        except EventDecodeError:
            pass
        else:
            raise AssertionError('consumer accepted a hostile event')
    assert list(consumer) == []
    assert 'hostile_mod' not in sys.modules, 'imported!'
    assert not marker.exists(), 'import-time code ran!'
    print(json.dumps(errors))

    # Positive control: a registered connector kind makes its module's
    # key types allowed, and importing it runs its import-time code.
    from proxystore.connectors.registry import register_connector

    register_connector('hostile', 'hostile_mod.HostileConnector')
    event = bytes_to_event(messages[0].encode())
    assert event.get_key().name == 'k'
    assert 'hostile_mod' in sys.modules and marker.exists()
    """,
)


def key_event(**changes: object) -> str:
    data: dict[str, object] = {
        'event_type': 'new_object_key',
        'topic': 't',
        'key_type': 'hostile_mod.Key',
        'raw_key': ['k'],
        'evict': True,
        'metadata': {},
        'store_config': {
            'name': 's',
            'connector': {'kind': 'local', 'options': {}},
        },
    }
    data.update(changes)
    return json.dumps(data)


def store(connector: object, **extra: object) -> dict[str, object]:
    return {'name': 's', 'connector': connector, **extra}


FILE_KEY = 'proxystore.connectors.file.FileKey'
MESSAGES = [
    key_event(),
    key_event(
        key_type=FILE_KEY,
        store_config=store(
            {'kind': 'hostile_mod.HostileConnector', 'options': {}},
        ),
    ),
    key_event(
        key_type=FILE_KEY,
        store_config=store({'kind': 'hostile_mod', 'options': {}}),
    ),
    key_event(
        key_type=FILE_KEY,
        store_config=store(
            {
                'kind': 'multi',
                'options': {
                    'x': {
                        '$ps': 'tuple',
                        'v': ['hostile_mod.HostileConnector', {}, {}],
                    },
                },
            },
        ),
    ),
    key_event(
        key_type=FILE_KEY,
        store_config=store(
            {'kind': 'file', 'options': {'store_dir': '/tmp/x'}},
            deserializer='hostile_mod.deserializer',
        ),
    ),
    key_event(
        key_type=FILE_KEY,
        metadata={
            'm': {'$ps': 'namedtuple', 'type': 'hostile_mod.Key', 'v': ['k']},
        },
    ),
    json.dumps(
        {
            'event_type': 'new_object',
            'topic': 't',
            'obj': {'$ps': 'namedtuple', 'type': 'hostile_mod.Key', 'v': []},
            'metadata': {},
        },
    ),
    json.dumps(
        {
            'event_type': 'hostile_mod.Key',
            'topic': 't',
        },
    ),
]


@pytest.mark.timeout(60)
def test_hostile_events_import_nothing(tmp_path: pathlib.Path) -> None:
    (tmp_path / 'hostile_mod.py').write_text(HOSTILE)
    result = subprocess.run(
        [sys.executable, '-c', CONSUMER, str(tmp_path), json.dumps(MESSAGES)],
        env={
            'PYTHONPATH': str(tmp_path),
            'PATH': '/usr/bin:/bin',
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    errors = json.loads(result.stdout.splitlines()[0])
    assert len(errors) == len(MESSAGES)
    assert all('hostile_mod' in e or 'Unknown event type' in e for e in errors)
    assert 'nothing was imported' in errors[0].lower()
    assert "connector kind 'hostile_mod.HostileConnector'" in errors[1]
    assert "deserializer 'hostile_mod.deserializer'" in errors[4]
