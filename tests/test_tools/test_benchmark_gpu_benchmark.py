"""tools/benchmarks/gpu_benchmark.py: CPU smoke run and the refusal without CUDA."""
import json

import pytest
import torch
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


@pytest.mark.skipif(torch.cuda.is_available(), reason='only refuses without CUDA')
def test_refuses_without_cuda(tmp_path):
    proc = run_tool(['tools/benchmarks/gpu_benchmark.py', '--out-dir', str(tmp_path)],
                    check=False)
    assert proc.returncode == 2 and 'needs a CUDA GPU' in proc.stderr
    assert not (tmp_path / 'gpu_benchmark.json').exists()


def test_quick_run_on_cpu(tmp_path):
    run_tool(['tools/benchmarks/gpu_benchmark.py', '--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'gpu_benchmark.json') as f:
        saved = json.load(f)
    model, data = saved['results']['model'], saved['results']['data']
    arch = saved['settings']['arch']
    d, layers = arch['embed_dims'], arch['num_layers']
    assert model['trainable_params'] == layers * (4 * (d + 3 * d) + 8 * (d + d))
    for key in ('train_img_per_s', 'infer_lora_img_per_s', 'infer_merged_img_per_s'):
        assert model[key] > 0
    assert model['train_peak_mem_mib'] is None  # CPU: no CUDA allocator stats
    # The legs training pipeline crops to the config's 768x1024 (w x h) input.
    assert data['input_shape_chw'] == [3, 1024, 768]
    assert data['samples'] == saved['settings']['data_samples']
    assert data['num_workers'] == 2 and data['samples_per_s'] > 0
