"""tools/benchmarks/input_scaling.py: quick run, token counts and the FLOP model."""
import json

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


def test_quick_run_reports_tokens_and_flops_of_every_size(tmp_path):
    run_tool(['tools/benchmarks/input_scaling.py', '--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'input_scaling.json') as f:
        saved = json.load(f)
    rows = saved['results']['sizes']
    assert [r['size_hxw'] for r in rows] == ['64x48', '128x96', '256x192']
    # Patch 16 with padding 2: (s + 4 - 16) // 16 + 1 tokens per side.
    for row, tokens in zip(rows, (4 * 3, 8 * 6, 16 * 12)):
        assert row['tokens'] == row['measured_tokens'] == tokens
        assert row['s_per_image'] > 0 and row['peak_rss_mib'] > 0
        assert 0 <= row['attn_time_share'] < 1
    dims = saved['results']['arch_dims']
    d, f, layers = dims['embed_dims'], dims['feedforward_channels'], dims['num_layers']
    assert (d, f, layers) == (64, 128, 2)
    assert saved['results']['crossover_tokens'] == 2 * d + f
    for row in rows:
        n = row['tokens']
        # One layer: attention 4 N^2 D, linears (qkv, proj, FFN) N (8 D^2 + 4 D F).
        assert row['layer_attention_gflop'] == pytest.approx(4 * n**2 * d / 1e9)
        assert row['layer_linear_gflop'] == pytest.approx(n * (8 * d**2 + 4 * d * f) / 1e9)
        # The analytic share grows with the sequence: N / (N + 2D + F) per layer.
        assert row['attn_flop_share'] == pytest.approx(n / (n + 2 * d + f))
        assert row['gflop_per_image'] == pytest.approx(
            layers * (row['layer_attention_gflop'] + row['layer_linear_gflop']))
