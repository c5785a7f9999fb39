"""tools/benchmarks/lora_training_cost.py: quick run, counts and report."""
import json

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


def _full_param_count(tokens, d, layers, f):
    patch_embed = 3 * 16 * 16 * d + d
    layer = (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (2 * d) + (d * f + f) + (f * d + d)
    return patch_embed + tokens * d + layers * layer + 2 * d


def test_quick_run_reports_exact_counts(tmp_path):
    run_tool(['tools/benchmarks/lora_training_cost.py', '--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'lora_training_cost.json') as f:
        saved = json.load(f)
    assert saved['settings']['quick'] is True
    arch = saved['settings']['arch']
    d, layers, f = arch['embed_dims'], arch['num_layers'], arch['feedforward_channels']

    rows = saved['results']['variants']
    # qkv: rank 4 on D -> 3D, proj: rank 8 on D -> D, in every layer.
    lora_params = layers * (4 * (d + 3 * d) + 8 * (d + d))
    assert rows['lora']['trainable_params'] == lora_params
    assert rows['mmpretrain_lora']['trainable_params'] == lora_params
    # 64x48 input, patch 16, padding 2: a 4x3 grid.
    assert rows['full']['trainable_params'] == _full_param_count(4 * 3, d, layers, f)
    assert rows['full']['total_params'] == rows['full']['trainable_params']
    assert rows['lora']['total_params'] == rows['full']['total_params'] + lora_params

    # AdamW keeps exp_avg and exp_avg_sq (fp32) per element, plus a scalar step
    # per tensor.
    for name, tensors in (('lora', 4 * layers), ('mmpretrain_lora', 4 * layers),
                          ('full', 5 + 12 * layers)):
        extra = rows[name]['optimizer_state_bytes'] - 8 * rows[name]['trainable_params']
        assert 0 < extra <= 8 * tensors, name

    repeats = saved['settings']['repeats']
    for name, row in rows.items():
        assert row['step_s'] > 0 and len(row['step_times_s']) == repeats
        assert row['peak_rss_mib'] >= row['peak_rss_after_build_mib'] > 0
    ratios = saved['results']['ratios']
    # Step-time ratios pair the steps of one round.
    per_round = sorted(a / c for a, c in zip(rows['lora']['step_times_s'],
                                             rows['mmpretrain_lora']['step_times_s']))
    assert abs(ratios['step_s']['lora/mmpretrain_lora']
               - 0.5 * (per_round[(repeats - 1) // 2] + per_round[repeats // 2])) < 1e-9
    assert abs(ratios['peak_rss_mib']['mmpretrain_lora/full']
               - rows['mmpretrain_lora']['peak_rss_mib'] / rows['full']['peak_rss_mib']) < 1e-9
