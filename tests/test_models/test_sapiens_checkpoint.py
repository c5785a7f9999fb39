"""Published checkpoint layouts load into SapiensViT (written here at tiny size)."""
import pytest
import torch
from mmengine.runner import load_checkpoint
from mmpose.registry import MODELS

from mmpose_medsapiens.models import SapiensViT

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def _source(grid_hw):
    """A plain backbone whose tensors play the released weights."""
    torch.manual_seed(1)
    return SapiensViT(arch=TINY, img_size=(16 * grid_hw[0], 16 * grid_hw[1]), lora=None)


def test_pretrain_release_flat_dict_with_class_token(tmp_path):
    src = _source((4, 4))
    flat = {k: v.clone() for k, v in src.state_dict().items()}
    # Released layout: 4x4 grid plus a class token, and the class token itself.
    flat['pos_embed'] = torch.cat([torch.randn(1, 1, 32), flat['pos_embed']], dim=1)
    flat['cls_token'] = torch.randn(1, 1, 32)
    path = tmp_path / 'sapiens_tiny_epoch_1600_clean.pth'
    torch.save(flat, path)

    model = SapiensViT(arch=TINY, img_size=(128, 96),
                       init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    assert model.pos_embed.shape == (1, 8 * 6, 32)
    torch.testing.assert_close(model.layers[1].attn.qkv.weight, src.layers[1].attn.qkv.weight)
    torch.testing.assert_close(model.ln1.weight, src.ln1.weight)
    # Interpolating the 4x4 grid reproduces a constant field exactly: check one.
    const = {**flat, 'pos_embed': torch.cat([torch.zeros(1, 1, 32),
                                             torch.full((1, 16, 32), 0.5)], dim=1)}
    torch.save(const, path)
    model.init_weights()
    torch.testing.assert_close(model.pos_embed, torch.full((1, 48, 32), 0.5))


def test_pose_checkpoint_non_square_grid(tmp_path):
    src = _source((4, 3))  # like 64x48 at 1024x768
    state = {f'backbone.{k}': v.clone() for k, v in src.state_dict().items()}
    state['head.final_layer.weight'] = torch.randn(3, 16, 1, 1)
    path = tmp_path / 'pose.pth'
    torch.save({'state_dict': state, 'meta': {'epoch': 210}}, path)

    model = SapiensViT(arch=TINY, img_size=(64, 48),
                       init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    torch.testing.assert_close(model.pos_embed, src.pos_embed)  # same 4x3 grid: unchanged
    bigger = SapiensViT(arch=TINY, img_size=(128, 96),
                        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    bigger.init_weights()
    grid = bigger.pos_embed.reshape(1, 8, 6, 32)
    # A 4x3 -> 8x6 resize keeps the source's corner-to-corner layout: check that
    # the bicubic result equals torch's own bicubic resize of the 4x3 grid.
    expected = torch.nn.functional.interpolate(
        src.pos_embed.reshape(1, 4, 3, 32).permute(0, 3, 1, 2), size=(8, 6), mode='bicubic',
        align_corners=False).permute(0, 2, 3, 1)
    torch.testing.assert_close(grid, expected)


def test_medsapiens_lora_release_through_runner_load(tmp_path):
    """``backbone.module.*.original_layer`` keys of mmpretrain's LoRAModel."""
    cfg = dict(type='TopdownPoseEstimator',
               backbone=dict(type='SapiensViT', arch=TINY, img_size=(64, 48)),
               head=dict(type='HeatmapHead', in_channels=32, out_channels=3,
                         deconv_out_channels=(16, ), deconv_kernel_sizes=(4, ),
                         loss=dict(type='KeypointMSELoss', use_target_weight=True)))
    torch.manual_seed(2)
    trained = MODELS.build(cfg)
    for name, p in trained.named_parameters():
        if '.lora_up' in name:
            torch.nn.init.normal_(p)
    released = {}
    for key, value in trained.state_dict().items():
        if key.startswith('backbone.'):
            rest = key[len('backbone.'):]
            if rest.endswith(('attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight',
                              'attn.proj.bias')):
                base, leaf = rest.rsplit('.', 1)
                rest = f'{base}.original_layer.{leaf}'
            key = f'backbone.module.{rest}'
        released[key] = value.clone()
    assert 'backbone.module.layers.1.attn.qkv.lora_down.weight' in released
    path = tmp_path / 'medsapiens_lora_head.pth'
    torch.save({'state_dict': released, 'meta': {}}, path)

    torch.manual_seed(3)
    model = MODELS.build(cfg)
    load_checkpoint(model, str(path), strict=True)
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)


def test_checkpoint_matching_nothing_is_an_error(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'encoder.conv.weight': torch.zeros(1)}}, path)
    model = SapiensViT(arch=TINY, img_size=(64, 48),
                       init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match='other.pth has no tensor that fits'):
        model.init_weights()
