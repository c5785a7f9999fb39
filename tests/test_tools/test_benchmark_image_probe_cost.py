"""tools/benchmarks/image_probe_cost.py: a --quick run over every format."""
import json

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow


def test_quick_run_times_probe_and_decode_of_each_format(tmp_path):
    proc = run_tool(['tools/benchmarks/image_probe_cost.py', '--quick', '--out-dir',
                     str(tmp_path)])
    assert 'image_probe_cost: 460x230 16-bit' in proc.stdout
    with open(tmp_path / 'image_probe_cost.json') as f:
        report = json.load(f)
    assert report['benchmark'] == 'image_probe_cost'
    rows = report['results']['rows']
    assert [r['format'] for r in rows] == ['png', 'jpeg', 'mha_raw', 'mha_zlib']
    for row in rows:
        assert row['file_mb'] > 0 and row['probe_ms'] > 0 and row['decode_ms'] > 0
        assert abs(row['decode_over_probe'] - row['decode_ms'] / row['probe_ms']) < 1e-9
