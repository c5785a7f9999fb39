"""The deployment modules create nothing on the CPU next to a model elsewhere.

A ``meta``-device model stands for one on a GPU: every buffer the wrapper
makes and the export's dummy input must land on the model's device.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_medsapiens.deploy import DecodedLandmarkModel, export_onnx


@pytest.fixture
def meta_model(udp_config):
    init_default_scope('mmpose')
    cfg = Config.fromfile(udp_config)
    return MODELS.build(cfg.model).to('meta').eval()


def test_every_tensor_of_the_decoded_model_lives_on_the_model_device(meta_model):
    decoded = DecodedLandmarkModel(meta_model, list(range(meta_model.head.out_channels)))
    devices = {name: t.device.type for name, t in decoded.named_buffers()}
    assert {'flip_indices', 'mean', 'std', 'decoder.kernel'} <= set(devices)
    assert set(devices.values()) == {'meta'}, devices
    width, height = decoded.input_size
    keypoints, scores, spread = decoded(torch.zeros(2, 3, height, width, device='meta'))
    assert keypoints.device.type == scores.device.type == spread.device.type == 'meta'
    assert keypoints.shape == (2, meta_model.head.out_channels, 2)


def test_export_traces_with_an_input_on_the_model_device(meta_model, tmp_path, monkeypatch):
    seen = {}

    def fake_export(module, args, path, **kwargs):
        seen['input'] = args[0].device.type
        seen['buffers'] = {t.device.type for t in module.buffers()}
        raise RuntimeError('stop after the trace inputs are known')

    monkeypatch.setattr(torch.onnx, 'export', fake_export)
    # A meta tensor has no bytes to hash.
    monkeypatch.setattr('mmpose_medsapiens.deploy.onnx_model.model_fingerprint', lambda m: 'f')
    with pytest.raises(RuntimeError, match='stop after'):
        export_onnx(meta_model, str(tmp_path / 'm.onnx'),
                    list(range(meta_model.head.out_channels)),
                    [f'k{i}' for i in range(meta_model.head.out_channels)])
    assert seen == dict(input='meta', buffers={'meta'})
    assert not list(tmp_path.iterdir())  # the failed export left nothing behind
