"""tools/benchmarks/image_probe_cost.py: a --quick run over every format."""
import json

from conftest import load_tool

bench = load_tool('benchmarks/image_probe_cost.py')


def test_quick_run_times_probe_and_decode_of_each_format(tmp_path, capsys):
    rows = bench.main(['--quick', '--out-dir', str(tmp_path)])
    assert [r['format'] for r in rows] == ['png', 'jpeg', 'mha_raw', 'mha_zlib']
    for row in rows:
        assert row['file_mb'] > 0 and row['probe_ms'] > 0 and row['decode_ms'] > 0
    printed = capsys.readouterr().out
    assert ('GOAL MET' in printed) or ('GOAL MISSED' in printed)
    with open(tmp_path / 'image_probe_cost.json') as f:
        report = json.load(f)
    assert report['benchmark'] == 'image_probe_cost' and report['results']['rows'] == rows


def test_the_image_is_film_like_16_bit():
    img = bench.radiograph(46, 23)
    assert img.dtype.name == 'uint16' and img.shape == (46, 23)
    assert 0 < img.min() < img.max() < 65535
