"""tools/benchmarks/data_pipeline_throughput.py --quick runs and checks the cache."""
import json

from conftest import load_tool

bench = load_tool('benchmarks/data_pipeline_throughput.py')


def test_quick_run_writes_all_variants_with_matching_landmarks(tmp_path, capsys):
    results = bench.main(['--quick', '--out-dir', str(tmp_path)])
    printed = capsys.readouterr().out
    assert 'GOAL MET' in printed or 'GOAL MISSED' in printed
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
    assert results['cache_build_s'] > 0
