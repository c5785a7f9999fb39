"""tools/benchmarks/gpu_check.py: the CPU form of the GPU acceptance check, and its refusal."""
import json

import pytest
import torch

from conftest import load_tool

gpu_check = load_tool('benchmarks/gpu_check.py')


@pytest.mark.skipif(torch.cuda.is_available(), reason='only refuses without CUDA')
def test_refuses_without_cuda(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_check.main(['--out-dir', str(tmp_path)])
    assert exc.value.code == 2 and 'needs a CUDA GPU' in capsys.readouterr().err
    assert not (tmp_path / 'gpu_check.json').exists()


@pytest.mark.slow
def test_quick_run_passes_every_check_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    gpu_check.main(['--quick', '--out-dir', str(tmp_path)])
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


def test_a_failing_check_is_reported_not_raised():
    def broken(*args):
        raise RuntimeError('device mismatch')

    results = {}
    gpu_check._guarded(results, 'onnx', broken)
    assert results['onnx']['ok'] is False and 'device mismatch' in results['onnx']['error']
    assert gpu_check._detail(results['onnx']).startswith('RuntimeError: device mismatch')


def test_a_failed_training_is_reported_and_fails_the_run(tmp_path, monkeypatch):
    def broken(*args):
        raise RuntimeError('CUDA error: device-side assert')

    monkeypatch.setattr(gpu_check, 'train_mode', broken)
    monkeypatch.setattr(gpu_check, 'check_ddp', lambda *args: dict(ok=True))
    with pytest.raises(SystemExit) as exc:
        gpu_check.main(['--quick', '--out-dir', str(tmp_path)])
    assert exc.value.code == 1
    with open(tmp_path / 'gpu_check.json') as f:
        results = json.load(f)['results']
    assert results['ok'] is False
    assert 'device-side assert' in results['modes']['fp32']['error']
    assert results['modes']['bf16']['mode'] == 'bf16'
    for check in ('adapter_checkpoint', 'test_tool', 'onnx'):
        assert results[check]['ok'] is False, check
