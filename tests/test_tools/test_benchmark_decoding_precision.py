"""tools/benchmarks/decoding_precision.py: a --quick run on every shipped config."""
import glob
import json
import math
import os.path as osp

from conftest import REPO_ROOT, load_tool

decoding_precision = load_tool('benchmarks/decoding_precision.py')


def _reference(rows, codec, flip):
    matches = [r for r in rows if r['config'] == f'reference: {codec}' and r['flip'] == flip]
    assert len(matches) == 1, (codec, flip)
    return matches[0]


def test_quick_run_covers_every_config_and_separates_codecs(tmp_path):
    results = decoding_precision.main(['--quick', '--out-dir', str(tmp_path)])

    path = tmp_path / 'decoding_precision.json'
    assert path.is_file()
    with open(path) as f:
        saved = json.load(f)
    assert saved['benchmark'] == 'decoding_precision'
    assert saved['results']['rows'] == json.loads(json.dumps(results['rows']))

    rows = saved['results']['rows']
    configs = sorted(osp.splitext(osp.basename(p))[0]
                     for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py')))
    assert configs
    for name in configs:
        own = [r for r in rows if r['config'] == name]
        # One row without and one with flip test per geometry, one of them
        # what tools/test.py runs.
        assert own and len(own) % 2 == 0, name
        assert sum(r['test.py'] == 'yes' for r in own) == len(own) // 2, name
        assert name in saved['results']['goal'], name
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
