"""tools/benchmarks/_common.py: the timing helpers the benchmarks share."""

from conftest import load_tool

_common = load_tool('benchmarks/_common.py')


def test_time_alternating_swaps_the_compared_pair_every_round():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ('a', 'c', 'b')}
    times = _common.time_alternating(fns, repeats=3, warmup=1)
    assert calls == ['a', 'c', 'b'] + ['a', 'c', 'b', 'c', 'a', 'b', 'a', 'c', 'b']
    assert {name: len(t) for name, t in times.items()} == dict(a=3, c=3, b=3)
    # Paired ratios: the median of per-round ratios, not a ratio of medians.
    assert _common.paired_ratio([1, 10, 3], [1, 5, 1]) == 2
