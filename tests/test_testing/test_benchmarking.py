"""The measurement helpers the benchmarks share: paired timing and check reports."""
from mmpose_medsapiens.testing import (check_detail, format_table, paired_ratio, run_check,
                                       time_alternating)


def test_time_alternating_swaps_the_compared_pair_every_round():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ('a', 'c', 'b')}
    times = time_alternating(fns, repeats=3, warmup=1)
    assert calls == ['a', 'c', 'b'] + ['a', 'c', 'b', 'c', 'a', 'b', 'a', 'c', 'b']
    assert {name: len(t) for name, t in times.items()} == dict(a=3, c=3, b=3)
    # Paired ratios: the median of per-round ratios, not a ratio of medians.
    assert paired_ratio([1, 10, 3], [1, 5, 1]) == 2


def test_a_failing_check_is_reported_not_raised():
    def broken(*args):
        raise RuntimeError('device mismatch')

    results = {}
    run_check(results, 'onnx', broken)
    assert results['onnx']['ok'] is False and 'device mismatch' in results['onnx']['error']
    assert 'RuntimeError' in results['onnx']['traceback'] and results['onnx']['seconds'] >= 0
    assert check_detail(results['onnx']).startswith('RuntimeError: device mismatch')
    # A passing check keeps what it returned; its detail leaves out ok and output.
    run_check(results, 'ddp', lambda backend: dict(ok=True, backend=backend, output='log'), 'gloo')
    assert results['ddp']['ok'] is True and results['ddp']['backend'] == 'gloo'
    assert check_detail(results['ddp']).startswith('backend=gloo, seconds=')


def test_format_table_aligns_columns_and_formats_numbers():
    table = format_table([dict(name='a', n=12345, x=0.123456), dict(name='bb', x=20000.0)],
                         ['name', 'n', 'x'], title='T')
    assert table.splitlines() == ['T', 'name  n       x     ', '----  ------  ------',
                                  '   a  12,345  0.1235', '  bb          20,000']
