"""tools/benchmarks/data_pipeline_throughput.py --quick runs and checks the cache."""
import json

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow


def test_quick_run_writes_all_variants_with_matching_landmarks(tmp_path):
    proc = run_tool(['tools/benchmarks/data_pipeline_throughput.py', '--quick', '--out-dir',
                     str(tmp_path)])
    assert 'cache build:' in proc.stdout
    with open(tmp_path / 'data_pipeline_throughput.json') as f:
        report = json.load(f)
    assert report['benchmark'] == 'data_pipeline_throughput' and report['settings']['quick']
    rows = {row['variant']: row for row in report['results']['variants']}
    assert list(rows) == ['(i) LoadImage', '(ii) LoadMedicalImage',
                          '(iii) cache + LoadMedicalImage']
    assert all(row['samples_per_s'] > 0 for row in rows.values())
    # Same augmentation draws: the landmark targets agree in original mm.
    assert rows['(i) LoadImage']['max_landmark_diff_mm'] == 0
    assert report['results']['max_landmark_diff_mm'] < 0.05
    assert rows['(iii) cache + LoadMedicalImage']['image'] != rows['(ii) LoadMedicalImage'][
        'image']  # the cache really is smaller
    assert report['results']['cache_build_s'] > 0
