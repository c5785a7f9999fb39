"""``--amp``: one mixed-precision story on CUDA and CPU, the head always in float32.

No GPU here: the wrapper *choice* is tested with ``torch.cuda.is_available``
patched; the *train step* with ``is_cuda_available`` patched in mmengine's
AMP module only, so that mmengine's ``AmpOptimWrapper`` builds and its
autocast falls back to CPU bfloat16, which reproduces what bf16 does on a GPU.
"""
import copy
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

from mmpose_medsapiens.engine import BackboneAmpOptimWrapper, CPUAmpOptimWrapper, apply_amp

AMP_MODULE = 'mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available'


def _cuda(monkeypatch, capability):
    monkeypatch.setattr('torch.cuda.is_available', lambda: True)
    monkeypatch.setattr('torch.cuda.get_device_capability', lambda device=None: capability)


def _sgd():
    return dict(optimizer=dict(type='SGD', lr=0.1))


@pytest.mark.parametrize('capability, dtype, scaled', [((9, 0), torch.bfloat16, False),
                                                       ((8, 0), torch.bfloat16, False),
                                                       ((7, 5), torch.float16, True)])
def test_amp_on_cuda_is_bf16_where_native_else_loss_scaled_fp16(
        monkeypatch, capability, dtype, scaled):
    _cuda(monkeypatch, capability)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    assert apply_amp(cfg) == 'BackboneAmpOptimWrapper' and cfg.optim_wrapper.dtype == 'auto'
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)
    assert type(wrapper) is BackboneAmpOptimWrapper and wrapper.cast_dtype == dtype
    assert wrapper.loss_scaler.is_enabled() is scaled


def test_fp16_on_request_and_a_named_dtype_kept(monkeypatch):
    _cuda(monkeypatch, (9, 0))
    cfg = Config(dict(optim_wrapper=dict(_sgd(), dtype='float16')))
    apply_amp(cfg)
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)
    assert wrapper.cast_dtype == torch.float16 and wrapper.loss_scaler.is_enabled()
    with pytest.raises(ValueError, match='float32'):
        BackboneAmpOptimWrapper(optimizer=torch.optim.SGD([torch.zeros(1)], lr=1),
                                dtype='float32')


def test_amp_without_cuda_is_cpu_bf16_and_refuses_fp16(monkeypatch):
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    cfg = Config(dict(optim_wrapper=_sgd()))
    assert apply_amp(cfg) == 'CPUAmpOptimWrapper'
    assert type(build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)) is \
        CPUAmpOptimWrapper
    cfg = Config(dict(optim_wrapper=dict(_sgd(), dtype='float16')))
    apply_amp(cfg)
    with pytest.raises(ValueError, match='bfloat16 only'):
        build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)


def test_amp_refuses_to_replace_a_custom_wrapper():
    cfg = Config(dict(optim_wrapper=dict(_sgd(), type='MyWrapper')))
    with pytest.raises(ValueError, match='MyWrapper'):
        apply_amp(cfg)


def _train_step(cfg):
    """One train step of ``cfg``'s model; the dtypes seen in the backbone and the head."""
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    seen = []
    # A matmul of the backbone, and what the head's first layer is given.
    model.backbone.layers[0].attn.qkv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    model.head.deconv_layers.register_forward_pre_hook(lambda m, i: seen.append(i[0].dtype))
    head_before = model.head.final_layer.weight.detach().clone()
    losses = model.train_step(batch, wrapper)
    assert not torch.equal(head_before, model.head.final_layer.weight)
    return losses, seen


def test_bf16_train_step_of_the_tiny_config_keeps_the_head_in_fp32(tiny_config, monkeypatch):
    monkeypatch.setattr(AMP_MODULE, lambda: True)  # AmpOptimWrapper builds on CPU
    cfg = Config.fromfile(tiny_config)
    stock = copy.deepcopy(cfg)
    stock.optim_wrapper.update(type='AmpOptimWrapper', dtype='bfloat16')
    # What `--cfg-options optim_wrapper.dtype=bfloat16` gave before: the whole model
    # autocast, and MMPose's heatmap accuracy fails on bf16 heatmaps.
    with pytest.raises(TypeError, match='BFloat16'):
        _train_step(stock)
    with monkeypatch.context() as m:
        m.setattr('torch.cuda.is_available', lambda: True)
        apply_amp(cfg)
    cfg.optim_wrapper.dtype = 'bfloat16'
    losses, seen = _train_step(cfg)
    assert seen == [torch.bfloat16, torch.float32]  # backbone autocast, head float32
    assert all(math.isfinite(v.item()) for v in losses.values())


def test_fp16_train_step_of_the_tiny_config_keeps_the_head_in_fp32(tiny_config, monkeypatch):
    monkeypatch.setattr(AMP_MODULE, lambda: True)
    cfg = Config.fromfile(tiny_config)
    cfg.optim_wrapper.update(type='BackboneAmpOptimWrapper', dtype='float16')
    losses, seen = _train_step(cfg)
    assert seen == [torch.float16, torch.float32]
    assert all(math.isfinite(v.item()) for v in losses.values())
