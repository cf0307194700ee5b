from __future__ import annotations

import pathlib
import time

import pytest

import proxystore.utils
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


def test_timer_start_and_stop_chain() -> None:
    timer = Timer().start()
    assert isinstance(timer, Timer)
    assert timer.stop() is timer
    assert timer.elapsed_ns >= 0


def test_timer_refuses_to_report_while_running() -> None:
    timer = Timer().start()
    for name in ('elapsed_ns', 'elapsed_ms', 'elapsed_s'):
        with pytest.raises(RuntimeError, match='Timer is still running!'):
            getattr(timer, name)
    timer.stop()
    assert timer.elapsed_ns >= 0
    # Restarting runs it again.
    timer.start()
    with pytest.raises(RuntimeError):
        _ = timer.elapsed_ms


def test_timer_context_manager_returns_the_timer() -> None:
    timer = Timer()
    with timer as entered:
        assert entered is timer
        with pytest.raises(RuntimeError):
            _ = timer.elapsed_s
    assert timer.elapsed_s >= 0


def test_hostname_is_nonempty() -> None:
    assert isinstance(hostname(), str)
    assert hostname()
    assert proxystore.utils.hostname() == hostname()


def test_home_dir_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setenv('PROXYSTORE_HOME', str(tmp_path / 'ps'))
    monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path / 'xdg'))
    assert home_dir() == str((tmp_path / 'ps').resolve())
    assert proxystore.utils.home_dir() == home_dir()
    monkeypatch.delenv('PROXYSTORE_HOME')
    assert home_dir() == str((tmp_path / 'xdg' / 'proxystore').resolve())
    monkeypatch.delenv('XDG_DATA_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    expected = tmp_path / 'home' / '.local' / 'share' / 'proxystore'
    assert home_dir() == str(expected.resolve())


def test_home_dir_is_absolute_for_a_relative_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('PROXYSTORE_HOME', 'relative')
    assert home_dir() == str(tmp_path.resolve() / 'relative')
