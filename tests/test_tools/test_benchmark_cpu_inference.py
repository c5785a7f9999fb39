"""tools/benchmarks/cpu_inference.py: quick speed run and the landmark-change part."""
import json
import shutil

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]

VARIANTS = {'eager_fp32', 'eager_bf16', 'torch_compile', 'onnxruntime_fp32', 'onnxruntime_int8'}


def test_quick_run_with_a_trained_model(udp_config, fitted_udp_checkpoint, tmp_path):
    demo = tmp_path / 'demo'
    demo.mkdir()
    # The layout tools/demo.py leaves: its config dump and the best checkpoint.
    shutil.copy(udp_config, demo / 'demo_synthetic_ceph.py')
    shutil.copy(fitted_udp_checkpoint, demo / 'best_MRE_mm_epoch_1.pth')
    proc = run_tool(['tools/benchmarks/cpu_inference.py', '--quick', '--demo-dir', str(demo),
                     '--out-dir', str(tmp_path)])
    assert 'landmark change vs eager fp32' in proc.stdout
    saved = json.loads((tmp_path / 'cpu_inference.json').read_text())['results']
    speed = saved['sizes']['64x48']
    assert set(speed['variants']) == VARIANTS
    assert speed['variants']['eager_fp32']['vs_fp32'] == 1.0
    assert speed['gflop_per_image'] > 0 and saved['matmul_gflops'] > 0
    acc = saved['demo_accuracy']['variants']
    assert set(acc) == VARIANTS
    assert acc['eager_fp32']['max_change_px'] == 0.0
    # The exported fp32 graph computes the eager model's landmarks.
    assert acc['onnxruntime_fp32']['max_change_px'] < 0.01
    # So does the compiled network with the eager decoding.
    assert acc['torch_compile']['max_change_px'] < 0.01


def test_without_a_demo_model_only_speed_is_measured(tmp_path):
    proc = run_tool(['tools/benchmarks/cpu_inference.py', '--quick', '--demo-dir',
                     str(tmp_path / 'none'), '--out-dir', str(tmp_path)])
    saved = json.loads((tmp_path / 'cpu_inference.json').read_text())['results']
    assert 'demo_accuracy' not in saved and set(saved['sizes']['64x48']['variants']) == VARIANTS
    assert 'landmark change not measured' in proc.stdout
