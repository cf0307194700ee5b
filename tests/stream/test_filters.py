from __future__ import annotations

import pytest

from proxystore.stream.filters import NullFilter
from proxystore.stream.filters import SamplingFilter


def test_null_filter_keeps_everything() -> None:
    assert not NullFilter()({})


@pytest.mark.parametrize('p', [-0.1, 1.1, float('nan')])
def test_sampling_probability_is_checked(p: float) -> None:
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        SamplingFilter(p)


def test_sampling_extremes() -> None:
    assert not any(SamplingFilter(0)({}) for _ in range(100))
    assert all(SamplingFilter(1)({}) for _ in range(100))


def test_sampling_drops_about_p() -> None:
    sampler = SamplingFilter(0.25, seed=42)
    dropped = sum(sampler({}) for _ in range(4000))
    assert 800 < dropped < 1200
    assert repr(sampler) == 'SamplingFilter(p=0.25)'


def test_sampling_is_reproducible_with_a_seed() -> None:
    a, b = SamplingFilter(0.5, seed=7), SamplingFilter(0.5, seed=7)
    assert [a({}) for _ in range(50)] == [b({}) for _ in range(50)]
