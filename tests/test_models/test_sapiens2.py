"""Sapiens2ViT: the released architecture, its checkpoints, LoRA, export.

The reference facts (parameter counts and state-dict layout of Meta's
standalone ``Sapiens2`` module with its defaults) are written down here; the
big archs are built on the meta device, everything that runs uses a tiny arch.
"""
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers.backbone_checks import assert_same_lora_gradients
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from safetensors.torch import save_file

from mmpose_medsapiens.models import (IncompleteCheckpointError, LoRALinear, Sapiens2ViT,
                                      adapter_state_dict, load_model_checkpoint, load_state_file,
                                      sapiens2_key)
from mmpose_medsapiens.models.backbones.sapiens2_layers import RMSNorm, apply_rope

# Meta's standalone Sapiens2 (class + 8 storage tokens, no tokenizer unless
# noted), counted on the meta device: parameters and state-dict entries
# (``rope_embed.periods`` is the one buffer).
REFERENCE = {
    'sapiens2_0.1b': (113_993_472, 210),
    'sapiens2_0.4b': (395_450_368, 414),
    'sapiens2_0.8b': (814_283_520, 550),
    'sapiens2_1b': (1_455_474_176, 686),
    'sapiens2_5b': (5_066_902_976, 958),
}
REFERENCE_1B_4K = (1_606_588_928, 744)  # sapiens2_1b with the window tokenizer
ARCH_FACTS = {  # embed_dims, num_layers, num_heads, tokenizer layers
    'sapiens2_0.1b': (768, 12, 12, 2), 'sapiens2_0.4b': (1024, 24, 16, 2),
    'sapiens2_0.8b': (1280, 32, 16, 3), 'sapiens2_1b': (1536, 40, 24, 4),
    'sapiens2_5b': (2432, 56, 32, 6),
}
LAYER_KEYS = ('ln1.weight', 'attn.wq.weight', 'attn.wq.bias', 'attn.wk.weight', 'attn.wk.bias',
              'attn.wv.weight', 'attn.wv.bias', 'attn.q_norm.weight', 'attn.k_norm.weight',
              'attn.proj.weight', 'attn.proj.bias', 'attn.gamma.weight', 'ln2.weight',
              'ffn.w12.weight', 'ffn.w12.bias', 'ffn.w3.weight', 'ffn.w3.bias')
# Tokenizer layers: no q/k norm, no LayerScale.
TOKENIZER_LAYER_KEYS = tuple(k for k in LAYER_KEYS if 'norm' not in k and 'gamma' not in k)

# 4 heads of 8 channels; the middle one of 3 layers uses 2 key/value heads.
TINY = dict(embed_dims=32, num_layers=3, num_heads=4, feedforward_channels=128,
            num_tokenizer_layers=1)
LORA_ALL = dict(targets=dict(wq=dict(rank=4, alpha=4), wk=dict(rank=4, alpha=4),
                             wv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
                drop_rate=0.0)


def published_keys(num_layers, tokenizer_layers=0):
    """The key layout of the released files (Meta's module's state dict)."""
    keys = ['cls_token', 'storage_tokens', 'patch_embed.projection.weight',
            'patch_embed.projection.bias', 'rope_embed.periods']
    if tokenizer_layers:
        keys += ['tokenizer.local_pos_embed', 'tokenizer.w_cls']
        keys += [f'tokenizer.blocks.{i}.{k}' for i in range(tokenizer_layers)
                 for k in TOKENIZER_LAYER_KEYS]
    keys += [f'blocks.{i}.{k}' for i in range(num_layers) for k in LAYER_KEYS]
    return keys + ['ln1.weight']


def _tiny(**kwargs):
    cfg = dict(type='Sapiens2ViT', arch=TINY, img_size=(64, 48), mhsa_layers=(1, 1), lora=None)
    cfg.update(kwargs)
    return MODELS.build(cfg)


@torch.no_grad()
def _trained(model, seed=0):
    """Move every tensor off its init, so that each one matters."""
    g = torch.Generator().manual_seed(seed)
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not name.endswith('periods'):
            t.add_(0.1 * torch.randn(t.shape, generator=g))
    return model


def published_state(model):
    """``model``'s base tensors under the released names (``blocks.N``)."""
    return {re.sub(r'^layers\.', 'blocks.', k): v.clone()
            for k, v in model.state_dict().items() if '.lora_' not in k}


def _estimator(backbone, **head):
    init_default_scope('mmpose')
    return MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(dict(type='Sapiens2ViT', arch=TINY, img_size=(64, 48),
                           mhsa_layers=(1, 1)), **backbone),
        head=dict(dict(type='HeatmapHead', in_channels=32, out_channels=3,
                       deconv_out_channels=(16, ), deconv_kernel_sizes=(4, ),
                       loss=dict(type='KeypointMSELoss', use_target_weight=True),
                       decoder=dict(type='UDPHeatmap', input_size=(48, 64),
                                    heatmap_size=(6, 8), sigma=2)), **head),
        test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False)))


# ------------------------------------------------------------ architecture
@pytest.mark.parametrize('arch', sorted(REFERENCE))
def test_arch_matches_the_reference_counts_and_key_layout(arch):
    with torch.device('meta'):
        model = Sapiens2ViT(arch=arch, lora=None)
    embed, depth, heads, _ = ARCH_FACTS[arch]
    params, entries = REFERENCE[arch]
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == params
    assert len(state) == entries
    assert list(state) == [sapiens2_key(k) for k in published_keys(depth)]
    # SwiGLU hidden width 4C (w12: C -> 8C); RoPE periods per head quarter, bf16.
    assert state['layers.0.ffn.w12.weight'].shape == (8 * embed, embed)
    assert state['layers.0.ffn.w3.weight'].shape == (embed, 4 * embed)
    assert state['rope_embed.periods'].shape == (embed // heads // 4, )
    assert state['rope_embed.periods'].dtype == torch.bfloat16
    assert model.patch_embed.projection.padding == (0, 0)
    # Grouped-query attention (half the k/v heads) except in the first and last 8 layers.
    kv = [state[f'layers.{i}.attn.wk.weight'].shape[0] for i in range(depth)]
    assert kv == [embed if i < 8 or i >= depth - 8 else embed // 2 for i in range(depth)]


def test_4k_arch_has_the_window_tokenizer_and_stride_64():
    with torch.device('meta'):
        model = Sapiens2ViT(arch='sapiens2_1b', img_size=(4096, 3072), use_tokenizer=True,
                            lora=None)
        out = model(torch.zeros(1, 3, 1024, 768))[0]
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_1B_4K[0]
    assert list(model.state_dict()) == [sapiens2_key(k) for k in published_keys(40, 4)]
    assert out.shape == (1, 1536, 16, 12)  # 64x48 patches, one token per 4x4 window


def test_forward_builds_its_tensors_on_the_input_device():
    # The 0.4B at 1024x768 on the meta device: RoPE tables, tokens and all
    # follow the input, with no host tensor on the way.
    with torch.device('meta'):
        model = Sapiens2ViT(arch='sapiens2_0.4b')
        out = model(torch.zeros(2, 3, 1024, 768))
    assert len(out) == 1 and out[0].shape == (2, 1024, 64, 48) and out[0].is_meta


def test_out_types_and_non_square_sizes():
    model = _tiny().eval()
    x = torch.randn(2, 3, 80, 48)  # 5x3 patches; RoPE needs no fixed grid
    feat = model(x)[0]
    assert feat.shape == (2, 32, 5, 3)
    model.out_type = 'raw'
    raw = model(x)[0]
    assert raw.shape == (2, 1 + 8 + 15, 32)
    torch.testing.assert_close(raw[:, 9:].reshape(2, 5, 3, 32).permute(0, 3, 1, 2), feat)
    with pytest.raises(KeyError, match='sapiens2_9b'):
        Sapiens2ViT(arch='sapiens2_9b')


def test_rope_rotates_patch_tokens_only_and_keeps_their_norm():
    model = _tiny(rope_dtype='fp32')
    sin, cos = model.rope_embed((4, 3))
    assert sin.shape == cos.shape == (12, 8)
    x = torch.randn(1, 4, 9 + 12, 8)
    y = apply_rope(x, sin, cos)
    torch.testing.assert_close(y[:, :, :9], x[:, :, :9])
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    assert not torch.allclose(y[:, :, 9:], x[:, :, 9:])
    # Patch (0, 0) of a 4x3 grid: centre at -1 + 1/n per axis; periods 100 ** (4i / 8);
    # channels [y / p0, y / p1, x / p0, x / p1] twice.
    y, x_ = -1 + 1 / 4, -1 + 1 / 3
    periods = torch.tensor([1.0, 10.0])
    angles = 2 * np.pi * torch.cat([y / periods, x_ / periods]).repeat(2)
    torch.testing.assert_close(model.rope_embed.periods, periods)
    torch.testing.assert_close(sin[0], torch.sin(angles))
    torch.testing.assert_close(cos[0], torch.cos(angles))


def test_decomposed_rmsnorm_matches_torch():
    norm = RMSNorm(16)
    nn.init.normal_(norm.weight)
    x = torch.randn(3, 5, 16)
    want = norm(x)
    norm.decompose = True
    torch.testing.assert_close(norm(x), want)


# ------------------------------------------------------------ checkpoints
@pytest.mark.parametrize('layout', ['flat_pth', 'pose_pth', 'flat_safetensors',
                                    'pose_safetensors'])
def test_published_layouts_load_completely(layout, tmp_path):
    src = _trained(_tiny()).eval()
    state = published_state(src)
    if layout.startswith('pose'):  # a task release: the whole estimator
        state = {f'backbone.{k}': v for k, v in state.items()}
        state['decode_head.conv_pose.weight'] = torch.randn(3, 32, 1, 1)
    if layout.endswith('safetensors'):
        path = tmp_path / 'sapiens2_tiny.safetensors'
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path = tmp_path / 'sapiens2_tiny.pth'
        torch.save(dict(state_dict=state) if layout.startswith('pose') else state, path)
    model = _tiny(lora=LORA_ALL, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for key, value in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)
    x = torch.randn(1, 3, 64, 48)
    torch.testing.assert_close(model.eval()(x)[0], src(x)[0])  # adapters start at zero


@pytest.mark.parametrize('change,named', [
    (lambda s: s.pop('blocks.2.attn.gamma.weight'), 'layers.2.attn.gamma.weight'),
    (lambda s: s.pop('rope_embed.periods'), 'rope_embed.periods'),
    (lambda s: s.update({'blocks.1.ffn.gamma2.weight': torch.ones(32)}),
     'layers.1.ffn.gamma2.weight'),
    (lambda s: s.update({'blocks.1.attn.wk.weight': torch.ones(32, 32)}),
     'layers.1.attn.wk.weight'),  # a GQA layer's k is (16, 32)
])
def test_missing_extra_or_other_shape_key_is_an_error_naming_it(change, named, tmp_path):
    state = published_state(_tiny())
    change(state)
    path = tmp_path / 'broken.pth'
    torch.save(state, path)
    model = _tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(IncompleteCheckpointError, match=re.escape(named)):
        model.init_weights()


def test_safetensors_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'safetensors', None)
    monkeypatch.setitem(sys.modules, 'safetensors.torch', None)
    path = tmp_path / 'sapiens2_0.4b_pretrain.safetensors'
    path.write_bytes(b'\0' * 16)
    with pytest.raises(ImportError, match='pip install safetensors'):
        load_state_file(str(path))


# ------------------------------------------------------------------- LoRA
def test_medsapiens_lora_on_04b_trains_950k_parameters():
    with torch.device('meta'):
        model = Sapiens2ViT(arch='sapiens2_0.4b')
    trainable = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
    assert all('.lora_' in n for n in trainable)
    # 16 full layers: wq, wk, wv 4 * (1024 + 1024) each, proj 8 * 2048; 8 GQA
    # layers: wk, wv 4 * (1024 + 512).
    assert sum(trainable.values()) == 16 * (3 * 8192 + 16384) + 8 * (8192 + 2 * 6144 + 16384)
    assert sum(trainable.values()) == 950_272


def test_lora_freezes_the_rest_starts_as_identity_and_merges():
    torch.manual_seed(0)
    plain = _trained(_tiny()).eval()
    model = _tiny(lora=dict(LORA_ALL, targets=dict(LORA_ALL['targets'],
                                                   w12=dict(rank=2, alpha=4))))
    model.load_state_dict(plain.state_dict(), strict=False)
    model.eval()
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        n for n in dict(model.named_parameters()) if '.lora_' in n}
    assert isinstance(model.layers[1].ffn.w12, LoRALinear)
    assert not isinstance(model.layers[1].ffn.w3, LoRALinear)
    x = torch.randn(2, 3, 64, 48)
    torch.testing.assert_close(model(x)[0], plain(x)[0])
    for m in model.lora_modules().values():
        nn.init.normal_(m.lora_up.weight, std=0.05)
    before = model(x)[0]
    assert not torch.allclose(before, plain(x)[0])
    model.merge_lora()
    assert not model.lora_modules() and model.lora_cfg is None
    torch.testing.assert_close(model(x)[0], before, atol=1e-5, rtol=0)
    merged = _tiny()
    merged.load_state_dict(model.state_dict())  # a plain backbone takes the merged weights
    with pytest.raises(KeyError, match='qkv'):
        _tiny(lora=dict(targets=dict(qkv=dict(rank=4))))


def test_adapter_only_checkpoint_round_trip(tmp_path):
    base = tmp_path / 'sapiens2_tiny_pretrain.pth'
    torch.save(published_state(_trained(_tiny())), base)
    backbone = dict(lora=LORA_ALL, init_cfg=dict(type='Pretrained', checkpoint=str(base)))
    trained = _estimator(backbone)
    trained.backbone.init_weights()
    for name, p in trained.named_parameters():
        if '.lora_up' in name or name.startswith('head.'):
            nn.init.normal_(p, std=0.05)
    state = adapter_state_dict(trained)
    assert any('.lora_' in k for k in state) and 'backbone.layers.0.attn.wq.weight' not in state
    path = tmp_path / 'adapter.pth'
    torch.save(dict(state_dict=state, meta={}), path)
    restored = _estimator(backbone)  # random base and head until loaded
    load_model_checkpoint(restored, str(path))
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(restored.state_dict()[key], value, msg=key)


def test_whole_model_checkpoint_in_published_layout_loads_strictly(tmp_path):
    """``backbone.blocks.N`` keys of a whole-model checkpoint get renamed."""
    src = _trained(_estimator(dict(lora=None)))
    state = {re.sub(r'^backbone\.layers\.', 'backbone.blocks.', k): v.clone()
             for k, v in src.state_dict().items()}
    path = tmp_path / 'whole.pth'
    torch.save(dict(state_dict=state), path)
    model = _estimator(dict(lora=None))
    load_model_checkpoint(model, str(path))
    torch.testing.assert_close(model.backbone.layers[2].attn.gamma.weight,
                               src.backbone.layers[2].attn.gamma.weight)


# --------------------------------------------------------------- training
@pytest.mark.parametrize('use_tokenizer', [False, True])
def test_activation_checkpointing_gives_the_same_gradients(use_tokenizer):
    kwargs = dict(lora=LORA_ALL, use_tokenizer=use_tokenizer)
    ref = _trained(_tiny(**kwargs))
    for m in ref.lora_modules().values():
        nn.init.normal_(m.lora_up.weight, std=0.05)
    cp = _tiny(with_cp=True, **kwargs)
    cp.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 128, 64)
    assert_same_lora_gradients(ref, cp, x)


def test_frozen_stages():
    model = _tiny(frozen_stages=2)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert {'cls_token', 'storage_tokens', 'patch_embed.projection.weight',
            'layers.1.attn.wq.weight'} <= frozen
    assert not any(n.startswith(('layers.2.', 'ln1.')) for n in frozen)
    model.train()
    assert not model.layers[0].training and model.layers[2].training


def test_layer_decay_sees_the_layers():
    from mmpose.engine.optim_wrappers import LayerDecayOptimWrapperConstructor

    model = _estimator(dict(lora=None))
    wrapper = LayerDecayOptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1)),
        paramwise_cfg=dict(num_layers=3, layer_decay_rate=0.5))(model)
    lr_of = {id(p): group['lr'] for group in wrapper.optimizer.param_groups
             for p in group['params']}
    params = dict(model.named_parameters())
    # 5 depth levels (embeddings, 3 layers, rest): layer N gets 0.5 ** (3 - N).
    assert lr_of[id(params['backbone.cls_token'])] == 0.0625
    assert lr_of[id(params['backbone.patch_embed.projection.weight'])] == 0.0625
    assert lr_of[id(params['backbone.layers.0.attn.wq.weight'])] == 0.125
    assert lr_of[id(params['backbone.layers.2.ffn.w12.weight'])] == 0.5
    assert lr_of[id(params['backbone.ln1.weight'])] == 1.0
    # Names MMPose's constructor does not know get the last group's rate.
    assert lr_of[id(params['backbone.storage_tokens'])] == 1.0


# ----------------------------------------------------------------- export
def test_onnx_export_in_export_mode(tmp_path):
    pytest.importorskip('onnxruntime')
    from mmpose_medsapiens.deploy import DecodedLandmarkModel, OnnxLandmarkModel, export_onnx

    torch.manual_seed(0)
    model = _trained(_estimator(dict(lora=None))).eval()
    path = str(tmp_path / 'sapiens2_tiny.onnx')
    with pytest.raises(RuntimeError, match='onnx_export_mode'):  # a bare torch.onnx.export
        torch.onnx.export(model.backbone, (torch.zeros(1, 3, 64, 48), ),
                          str(tmp_path / 'bare.onnx'), dynamo=False)
    meta = export_onnx(model, path, [0, 1, 2], ['a', 'b', 'c'])  # enters the mode itself
    assert meta['backbone_export_mode'] is True
    with model.backbone.onnx_export_mode():
        images = torch.rand(2, 3, 64, 48) * 255
        with torch.no_grad():
            want = DecodedLandmarkModel(model, [0, 1, 2])(images)
    assert model.backbone.rope_dtype == torch.bfloat16  # restored on exit
    got = OnnxLandmarkModel(path)(images.numpy())
    # Random weights give flat heatmaps, whose sub-pixel refinement amplifies
    # float noise: keypoints to 0.05 input px, the rest tightly.
    for name, a, b, atol in zip(('keypoints', 'scores', 'spread'), got, want, (0.05, 1e-4, 1e-4)):
        np.testing.assert_allclose(a, b.numpy(), atol=atol, rtol=0, err_msg=name)
