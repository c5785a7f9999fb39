"""tools/benchmarks/input_scaling.py: quick run, token counts and the FLOP model."""
import json

import pytest

from conftest import load_tool

input_scaling = load_tool('benchmarks/input_scaling.py')


@pytest.mark.parametrize('h,w,tokens', [
    (256, 192, 16 * 12), (512, 384, 32 * 24), (1024, 768, 64 * 48), (64, 48, 4 * 3)])
def test_num_tokens(h, w, tokens):
    assert input_scaling.num_tokens(h, w) == tokens


def test_flop_split_of_sapiens_03b():
    # 1024 dims, FFN 4096: linears 24*N*D^2, attention 4*N^2*D.
    flops = input_scaling.layer_flops(3072, 1024, 4096)
    assert flops['linear'] == 24 * 3072 * 1024**2
    assert flops['attention'] == 4 * 3072**2 * 1024
    assert flops['attention_share'] == pytest.approx(1 / 3)
    assert input_scaling.layer_flops(6144, 1024, 4096)['attention_share'] == pytest.approx(0.5)


@pytest.mark.slow
def test_quick_run_reports_every_size(tmp_path):
    input_scaling.main(['--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'input_scaling.json') as f:
        saved = json.load(f)
    rows = saved['results']['sizes']
    assert [r['size_hxw'] for r in rows] == ['64x48', '128x96', '256x192']
    for row, tokens in zip(rows, (12, 48, 192)):
        assert row['tokens'] == row['measured_tokens'] == tokens
        assert row['s_per_image'] > 0 and row['peak_rss_mib'] > 0
        assert 0 <= row['attn_time_share'] < 1
    d, f = 64, 128
    assert saved['results']['crossover_tokens'] == 2 * d + f
    # The analytic share grows with the sequence: N / (N + 2D + F) per layer.
    for row in rows:
        n = row['tokens']
        assert row['attn_flop_share'] == pytest.approx(n / (n + 2 * d + f))
