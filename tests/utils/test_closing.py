from __future__ import annotations

import pytest

from proxystore.utils.closing import CloseOnExit


class Resource(CloseOnExit):
    def __init__(self) -> None:
        self.closed: list[bool] = []

    def close(self, clear: bool = False) -> None:
        self.closed.append(clear)


def test_with_block_closes_with_defaults() -> None:
    resource = Resource()
    with resource as entered:
        assert entered is resource
        assert resource.closed == []
    assert resource.closed == [False]


def test_closes_when_the_block_raises() -> None:
    resource = Resource()
    with pytest.raises(KeyError):
        with resource:
            raise KeyError('boom')
    assert resource.closed == [False]


def test_base_close_is_a_no_op() -> None:
    with CloseOnExit() as resource:
        assert isinstance(resource, CloseOnExit)
