"""tools/benchmarks/gpu_check.py: the CPU form of the GPU acceptance check, and its refusal.

How a failing check is reported (not raised) is tested with the helpers in
``tests/test_testing/test_benchmarking.py``.
"""
import json

import pytest
import torch
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


@pytest.mark.skipif(torch.cuda.is_available(), reason='only refuses without CUDA')
def test_refuses_without_cuda(tmp_path):
    proc = run_tool(['tools/benchmarks/gpu_check.py', '--out-dir', str(tmp_path)], check=False)
    assert proc.returncode == 2 and 'needs a CUDA GPU' in proc.stderr
    assert not (tmp_path / 'gpu_check.json').exists()


def test_quick_run_passes_every_check_on_cpu(tmp_path):
    proc = run_tool(['tools/benchmarks/gpu_check.py', '--quick', '--out-dir', str(tmp_path)],
                    cpu_only=True)
    assert 'all checks passed: True' in proc.stdout
    with open(tmp_path / 'gpu_check.json') as f:
        results = json.load(f)['results']
    assert results['ok'] is True
    fp32, bf16 = results['modes']['fp32'], results['modes']['bf16']
    assert fp32['wrapper'] == 'OptimWrapper' and bf16['wrapper'] == 'CPUAmpOptimWrapper'
    assert bf16['dtype'] == 'torch.bfloat16'
    for mode in (fp32, bf16):
        assert mode['loss_finite'] and mode['frozen_unchanged']
        lora_moved, lora_total = map(int, mode['lora_moved'].split('/'))
        assert lora_moved == lora_total > 0
        assert mode['train_img_per_s'] > 0 and mode['test_img_per_s'] > 0
    assert {'uncertainty_spearman', 'coverage_90'} <= set(results['test_tool'])
    onnx = results['onnx']
    assert onnx['score_max_rel_diff'] <= 1e-4 and onnx['stable_max_diff_px'] <= 0.05
    assert onnx['landmarks'] - onnx['rounding_sensitive'] >= 1
    assert results['adapter_checkpoint']['tensors'] > 0
    assert results['ddp']['backend'] == 'gloo' and results['ddp']['checkpoint_saved']
