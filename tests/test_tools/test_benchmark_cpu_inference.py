"""tools/benchmarks/cpu_inference.py: quick speed run and the landmark-change part."""
import json
import shutil

import pytest

from conftest import load_tool

cpu_inference = load_tool('benchmarks/cpu_inference.py')

pytestmark = pytest.mark.slow


def test_quick_run_with_a_trained_model(udp_config, fitted_udp_checkpoint, tmp_path, capsys):
    demo = tmp_path / 'demo'
    demo.mkdir()
    # The layout tools/demo.py leaves: its config dump and the best checkpoint.
    shutil.copy(udp_config, demo / 'demo_synthetic_ceph.py')
    shutil.copy(fitted_udp_checkpoint, demo / 'best_MRE_mm_epoch_1.pth')
    cpu_inference.main(['--quick', '--demo-dir', str(demo), '--out-dir', str(tmp_path)])
    saved = json.loads((tmp_path / 'cpu_inference.json').read_text())['results']
    speed = saved['sizes']['64x48']
    assert set(speed['variants']) == set(cpu_inference.VARIANTS)
    assert speed['variants']['eager_fp32']['vs_fp32'] == 1.0
    assert speed['gflop_per_image'] > 0 and saved['matmul_gflops'] > 0
    acc = saved['demo_accuracy']['variants']
    assert acc['eager_fp32']['max_change_px'] == 0.0
    # The exported fp32 graph computes the eager model's landmarks.
    assert acc['onnxruntime_fp32']['max_change_px'] < 0.01
    # So does the compiled network with the eager decoding.
    assert acc['torch_compile']['max_change_px'] < 0.01
    assert 'GOAL' in capsys.readouterr().out


def test_without_a_demo_model_only_speed_is_measured(tmp_path, capsys):
    cpu_inference.main(['--quick', '--demo-dir', str(tmp_path / 'none'), '--out-dir',
                        str(tmp_path)])
    saved = json.loads((tmp_path / 'cpu_inference.json').read_text())['results']
    assert 'demo_accuracy' not in saved
    assert 'landmark change not measured' in capsys.readouterr().out
