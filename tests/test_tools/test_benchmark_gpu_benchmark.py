"""tools/benchmarks/gpu_benchmark.py: CPU smoke run and the refusal without CUDA."""
import json

import pytest
import torch

from conftest import load_tool

_common = load_tool('benchmarks/_common.py')
gpu_benchmark = load_tool('benchmarks/gpu_benchmark.py')


@pytest.mark.skipif(torch.cuda.is_available(), reason='only refuses without CUDA')
def test_refuses_without_cuda(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_benchmark.main(['--out-dir', str(tmp_path)])
    assert exc.value.code == 2
    assert 'needs a CUDA GPU' in capsys.readouterr().err
    assert not (tmp_path / 'gpu_benchmark.json').exists()


def test_quick_run_on_cpu(tmp_path):
    gpu_benchmark.main(['--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'gpu_benchmark.json') as f:
        saved = json.load(f)
    model, data = saved['results']['model'], saved['results']['data']
    d, layers = _common.QUICK_ARCH['embed_dims'], _common.QUICK_ARCH['num_layers']
    assert model['trainable_params'] == layers * (4 * (d + 3 * d) + 8 * (d + d))
    for key in ('train_img_per_s', 'infer_lora_img_per_s', 'infer_merged_img_per_s'):
        assert model[key] > 0
    assert model['train_peak_mem_mib'] is None  # CPU: no CUDA allocator stats
    # The legs training pipeline crops to the config's 768x1024 (w x h) input.
    assert data['input_shape_chw'] == [3, 1024, 768]
    assert data['samples'] == saved['settings']['data_samples']
    assert data['num_workers'] == 2 and data['samples_per_s'] > 0
