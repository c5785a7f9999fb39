"""``make bench``'s driver on the decoding-precision benchmark: one --quick run checks both."""
import glob
import json
import math
import os.path as osp

import pytest
from conftest import REPO_ROOT, run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


def _reference(rows, codec, flip):
    matches = [r for r in rows if r['config'] == f'reference: {codec}' and r['flip'] == flip]
    assert len(matches) == 1, (codec, flip)
    return matches[0]


def test_run_all_runs_decoding_precision_over_every_config(tmp_path):
    run_tool(['tools/benchmarks/run_all.py', '--quick', '--only', 'decoding_precision',
              '--out-dir', str(tmp_path)])
    summary = json.loads((tmp_path / 'run_all.json').read_text())
    runs = summary['results']['runs']
    assert [r['benchmark'] for r in runs] == ['decoding_precision'] and runs[0]['exit'] == 0
    assert runs[0]['seconds'] > 0 and summary['settings']['quick'] is True

    saved = json.loads((tmp_path / 'decoding_precision.json').read_text())
    assert saved['benchmark'] == 'decoding_precision'
    rows = saved['results']['rows']
    configs = sorted(osp.splitext(osp.basename(p))[0]
                     for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py')))
    assert configs
    worst = saved['results']['worst_test_mean']
    for name in configs:
        own = [r for r in rows if r['config'] == name]
        # One row without and one with flip test per geometry, one of them
        # what tools/test.py runs.
        assert own and len(own) % 2 == 0, name
        assert sum(r['test.py'] == 'yes' for r in own) == len(own) // 2, name
        assert worst[name]['worst_mean'] == max(r['mean'] for r in own if r['test.py'] == 'yes')
    # The generalist config is measured on each of its four data sets.
    assert {r['dataset'] for r in rows if r['config'] == 'medsapiens_generalist'} == {
        'head', 'chest', 'hand', 'legs'}

    references = saved['results']['references']
    for row in rows + references:
        assert row['points'] > 0
        for key in ('mean', 'max', 'bias_x', 'bias_y'):
            assert math.isfinite(row[key]), (row['config'], key)
        assert 0 <= row['mean'] <= row['max']

    # Plain argmax decoding is off by up to half a heatmap pixel (~1 mm here);
    # UDP encodes and decodes exactly, also under its flip test.
    assert _reference(references, 'MSRA plain', 'off')['mean'] > 0.1
    assert _reference(references, 'UDP', 'off')['mean'] < 0.01
    assert _reference(references, 'UDP', 'heatmap')['mean'] < 0.01
