"""tools/benchmarks/lora_training_cost.py: quick run, counts and report."""
import json

import pytest

from conftest import load_tool

_common = load_tool('benchmarks/_common.py')
lora_training_cost = load_tool('benchmarks/lora_training_cost.py')


D, L, F = (_common.QUICK_ARCH[k]
           for k in ('embed_dims', 'num_layers', 'feedforward_channels'))


def _full_param_count(tokens):
    patch_embed = 3 * 16 * 16 * D + D
    layer = (2 * D) + (D * 3 * D + 3 * D) + (D * D + D) + (2 * D) + (D * F + F) + (F * D + D)
    return patch_embed + tokens * D + L * layer + 2 * D


@pytest.mark.slow
def test_quick_run_reports_exact_counts(tmp_path):
    results = lora_training_cost.main(['--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'lora_training_cost.json') as f:
        saved = json.load(f)
    assert saved['results']['variants'] == json.loads(json.dumps(results['variants']))
    assert saved['settings']['quick'] is True

    rows = saved['results']['variants']
    # qkv: rank 4 on D -> 3D, proj: rank 8 on D -> D, in every layer.
    lora_params = L * (4 * (D + 3 * D) + 8 * (D + D))
    assert rows['lora']['trainable_params'] == lora_params
    assert rows['mmpretrain_lora']['trainable_params'] == lora_params
    # 64x48 input, patch 16, padding 2: a 4x3 grid.
    assert rows['full']['trainable_params'] == _full_param_count(tokens=4 * 3)
    assert rows['full']['total_params'] == rows['full']['trainable_params']
    assert rows['lora']['total_params'] == rows['full']['total_params'] + lora_params

    # AdamW keeps exp_avg and exp_avg_sq (fp32) per element, plus a scalar step
    # per tensor.
    for name, tensors in (('lora', 4 * L), ('mmpretrain_lora', 4 * L), ('full', 5 + 12 * L)):
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
    assert saved['results']['goal_met'] == {
        m: ratios[m]['lora/mmpretrain_lora'] <= 1.05 for m in ('step_s', 'peak_rss_mib')}


def test_mmpretrain_variant_adapts_the_same_layers():
    arch, size = _common.QUICK_ARCH, (64, 48)
    ours = lora_training_cost.build_variant('lora', arch, size)
    theirs = lora_training_cost.build_variant('mmpretrain_lora', arch, size)
    ours_lora = {n: p.shape for n, p in ours.named_parameters() if p.requires_grad}
    theirs_lora = {n[len('module.'):]: p.shape for n, p in theirs.named_parameters()
                   if p.requires_grad}
    assert ours_lora == theirs_lora
    assert ours_lora['layers.0.attn.qkv.lora_down.weight'] == (4, D)
    assert ours_lora['layers.1.attn.proj.lora_up.weight'] == (D, 8)
    assert ours.layers[0].attn.qkv.scaling == theirs.module.layers[0].attn.qkv.scaling == 1.0
