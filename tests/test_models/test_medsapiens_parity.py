"""Checkpoints trained by the MedSapiens code run identically through our configs.

Their models are built as their configs build them (stock mmpretrain
``LoRAModel`` around ``VisionTransformer``, or the plain ViT of the full
fine-tuning generalist), "trained", saved as their runner saves, and loaded
through our shipped configs with only the arch shrunk.
"""
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT
from helpers import medsapiens_reference as ref
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_medsapiens.apis import init_landmark_model
from mmpose_medsapiens.models import IncompleteCheckpointError, complete_model_state

LORA_CONFIGS = [f'{kind}_{s}.py' for kind in ('medsapiens', 'sapiens_lora')
                for s in ('head', 'hand', 'chest', 'legs')]


def shrunk_config(name, base_checkpoint):
    """One of our shipped configs with the arch shrunk like ``ref``'s models."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', name))
    c = ref.TINY_HEAD_CHANNELS
    cfg.model.backbone.update(arch=ref.TINY_ARCH, img_size=(ref.TINY_INPUT[1], ref.TINY_INPUT[0]),
                              init_cfg=dict(type='Pretrained', checkpoint=base_checkpoint))
    cfg.model.head.update(in_channels=ref.TINY_ARCH['embed_dims'], deconv_out_channels=(c, c),
                          conv_out_channels=(c, c), decoder=ref.CODEC)
    return cfg


def _outputs(model, x):
    model.eval()
    with torch.no_grad():
        feats = model.backbone(x)
        return feats[-1], model.head(feats)


@pytest.fixture(scope='module')
def base_checkpoint(tmp_path_factory):
    init_default_scope('mmpose')
    return ref.write_sapiens_pretrain(tmp_path_factory.mktemp('base') / 'sapiens_tiny.pth')


@pytest.mark.parametrize('name', LORA_CONFIGS + ['medsapiens_generalist.py'])
def test_medsapiens_checkpoint_gives_identical_features_and_heatmaps(name, base_checkpoint,
                                                                     tmp_path):
    cfg = shrunk_config(name, base_checkpoint)
    lora = cfg.model.backbone.get('lora', 'default') is not None
    assert lora == (name != 'medsapiens_generalist.py')  # the generalist is fully fine-tuned
    init_default_scope('mmpose')
    theirs = MODELS.build(ref.pose_model(cfg.model.head.out_channels, base_checkpoint, lora))
    ckpt = ref.train_and_save(theirs, tmp_path / 'best_EPE_epoch_199.pth')
    saved = torch.load(ckpt, weights_only=False)['state_dict']
    backbone_keys = [k for k in saved if k.startswith('backbone.')]
    if lora:  # LoRAModel saves no base weights, only adapters under backbone.module.
        assert backbone_keys and all('.lora_' in k for k in backbone_keys)
        assert all(k.startswith('backbone.module.') for k in backbone_keys)
    else:
        assert 'backbone.layers.0.attn.qkv.weight' in saved

    ours = init_landmark_model(cfg, ckpt, device='cpu')
    x = torch.randn(2, 3, ref.TINY_INPUT[1], ref.TINY_INPUT[0])
    (f_theirs, h_theirs), (f_ours, h_ours) = _outputs(theirs, x), _outputs(ours, x)
    assert h_ours.shape == h_theirs.shape == (2, cfg.model.head.out_channels, 16, 12)
    assert (f_ours - f_theirs).abs().max() <= 1e-5
    assert (h_ours - h_theirs).abs().max() <= 1e-5
    assert h_theirs.abs().max() > 1e-3  # not two zero maps


def test_old_single_conv_head_refuses_medsapiens_checkpoint(base_checkpoint, tmp_path):
    """The head MedSapiens trains has two 1x1 convs; one is a named error."""
    cfg = shrunk_config('medsapiens_head.py', base_checkpoint)
    init_default_scope('mmpose')
    theirs = MODELS.build(ref.pose_model(19, base_checkpoint))
    ckpt = ref.train_and_save(theirs, tmp_path / 'head.pth')
    cfg.model.head.update(conv_out_channels=(ref.TINY_HEAD_CHANNELS, ), conv_kernel_sizes=(1, ))
    with pytest.raises(IncompleteCheckpointError, match=r'not in the model: head\.conv_layers\.3'):
        init_landmark_model(cfg, ckpt, device='cpu')


def test_missing_head_tensor_is_an_error_not_a_warning(base_checkpoint, tmp_path):
    cfg = shrunk_config('sapiens_lora_head.py', base_checkpoint)
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    state = {k: v for k, v in model.state_dict().items() if 'final_layer.bias' not in k}
    with pytest.raises(IncompleteCheckpointError, match=r'missing: head\.final_layer\.bias'):
        complete_model_state(model, {'state_dict': state}, 'x.pth')
    # A head the config starts fresh is allowed, and only that.
    complete_model_state(model, {'state_dict': state}, 'x.pth', fresh_keys=['head.final_layer.'])


def test_what_medsapiens_per_set_configs_take_from_a_full_finetuned_generalist(base_checkpoint,
                                                                               tmp_path):
    """Their lora_med_sapiens configs load the generalist through the model's
    ``init_cfg`` (non-strict) into a ``LoRAModel`` whose keys read
    ``backbone.module.*``: a fully fine-tuned generalist's ``backbone.layers.*``
    match nothing, so the backbone stays the Sapiens pretrain and only head
    layers of equal shape come from the generalist. Hence a released per-set
    LoRA checkpoint runs on the Sapiens pretrain base (README, Configs)."""
    init_default_scope('mmpose')
    torch.manual_seed(0)
    generalist = MODELS.build(ref.pose_model(88, base_checkpoint, lora=False))
    gen_ckpt = ref.train_and_save(generalist, tmp_path / 'best_EPE_epoch_199.pth')
    per_set = MODELS.build(ref.pose_model(19, base_checkpoint, model_init=gen_ckpt))
    per_set.init_weights()
    base = torch.load(base_checkpoint, weights_only=True)
    qkv = per_set.backbone.module.layers[0].attn.qkv.original_layer.weight
    assert torch.equal(qkv, base['layers.0.attn.qkv.weight'])
    assert not torch.equal(qkv, generalist.backbone.layers[0].attn.qkv.weight)
    assert torch.equal(per_set.head.deconv_layers[0].weight,
                       generalist.head.deconv_layers[0].weight)
    assert torch.equal(per_set.head.conv_layers[3].weight, generalist.head.conv_layers[3].weight)
    assert not torch.equal(per_set.head.final_layer.weight[:19],
                           generalist.head.final_layer.weight[:19])  # 88 vs 19: not loaded
