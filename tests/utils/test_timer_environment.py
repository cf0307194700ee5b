from __future__ import annotations

import pathlib
import time

import pytest

from proxystore.utils.environment import home_dir
from proxystore.utils.environment import hostname
from proxystore.utils.timer import Timer


def test_timer_measures_elapsed() -> None:
    with Timer() as timer:
        time.sleep(0.01)
    assert timer.elapsed_ns > 0
    assert timer.elapsed_ms == pytest.approx(timer.elapsed_ns / 1e6)
    assert timer.elapsed_s == pytest.approx(timer.elapsed_ns / 1e9)
    frozen = timer.elapsed_ns
    time.sleep(0.001)
    assert timer.elapsed_ns == frozen


def test_timer_running_reports_progress() -> None:
    timer = Timer()
    timer.start()
    first = timer.elapsed_ns
    time.sleep(0.001)
    assert timer.elapsed_ns > first


def test_hostname_is_nonempty() -> None:
    assert isinstance(hostname(), str)
    assert hostname()


def test_home_dir_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setenv('PROXYSTORE_HOME', str(tmp_path / 'ps'))
    monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path / 'xdg'))
    assert home_dir() == str((tmp_path / 'ps').resolve())
    monkeypatch.delenv('PROXYSTORE_HOME')
    assert home_dir() == str((tmp_path / 'xdg' / 'proxystore').resolve())
    monkeypatch.delenv('XDG_DATA_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    expected = tmp_path / 'home' / '.local' / 'share' / 'proxystore'
    assert home_dir() == str(expected.resolve())
