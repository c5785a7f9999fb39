"""tools/demo.py end to end at a toy size (the learning bar is `make demo`'s job)."""
import json
import os.path as osp

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow


def test_demo_writes_metrics_baseline_and_overlays(tmp_path):
    out = tmp_path / 'demo'
    proc = run_tool([
        'tools/demo.py', '--out-dir', str(out), '--num-train', '8', '--num-val', '2',
        '--num-test', '3', '--epochs', '1', '--num-overlays', '2', '--cfg-options',
        'train_dataloader.batch_size=4',
        'model.backbone.arch.num_layers=1', 'model.backbone.arch.embed_dims=32',
        'model.backbone.arch.num_heads=2', 'model.backbone.arch.feedforward_channels=32',
        'model.head.in_channels=32'
    ], check=False)
    with open(out / 'metrics.json') as f:
        result = json.load(f)
    # Exit status tells whether the model beat half the mean-shape baseline.
    assert proc.returncode == (0 if result['learned'] else 1), proc.stderr[-3000:]
    for part in ('model', 'mean_shape_baseline'):
        assert set(result[part]) >= {'MRE_mm', 'SDR_2mm', 'SDR_2.5mm', 'SDR_3mm', 'SDR_4mm'}
    ratio = result['model']['MRE_mm'] / result['mean_shape_baseline']['MRE_mm']
    assert abs(result['mre_ratio_model_to_baseline'] - ratio) < 1e-9
    assert result['images'] == dict(train=8, val=2, test=3)
    assert len(result['overlays']) == 2
    # Two validation images cannot give a 90 % quantile: infinite radii cover all.
    assert result['uncertainty']['nominal_coverage'] == 90
    assert result['uncertainty']['test_coverage'] == 100.0
    with open(out / 'uncertainty_calibration.json') as f:
        assert json.load(f)['quantiles'] == [None] * 10
    assert all(osp.isfile(out / p) for p in result['overlays'])
