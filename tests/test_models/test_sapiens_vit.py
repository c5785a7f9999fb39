"""SapiensViT: arch presets, in-place LoRA, freezing, merging, pos_embed loading."""
import pytest
import torch
import torch.nn as nn
from helpers.backbone_checks import assert_same_lora_gradients
from mmpose.registry import MODELS

from mmpose_medsapiens.models import LoRALinear, SapiensViT, infer_pos_embed_grid

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def _tiny(**kwargs):
    cfg = dict(type='SapiensViT', arch=TINY, img_size=(64, 48))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_sapiens_03b_preset_and_medsapiens_lora_size():
    # Built on the meta device: the 0.3B shapes without allocating 1.2 GB.
    with torch.device('meta'):
        model = SapiensViT(arch='sapiens_0.3b', img_size=(1024, 768))
    assert model.embed_dims == 1024 and model.num_layers == 24
    attn = model.layers[0].attn
    assert attn.num_heads == 16 and model.layers[0].ffn.feedforward_channels == 4096
    assert model.pos_embed.shape == (1, 64 * 48, 1024)  # no class token
    assert model.patch_embed.projection.padding == (2, 2)
    assert attn.qkv.bias is not None
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # qkv: 4 * (1024 + 3072), proj: 8 * (1024 + 1024), 24 layers
    assert trainable == 786_432


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(KeyError, match='sapiens_9b'):
        SapiensViT(arch='sapiens_9b')


def test_lora_freezes_everything_else_and_starts_as_identity():
    torch.manual_seed(0)
    plain = _tiny(lora=None)
    lora = _tiny()
    missing, unexpected = lora.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all('.lora_' in k for k in missing)
    trainable = {n for n, p in lora.named_parameters() if p.requires_grad}
    assert trainable == {n for n in dict(lora.named_parameters()) if '.lora_' in n}
    assert any('layers.1.attn.qkv.lora_down' in n for n in trainable)
    lora.eval(), plain.eval()
    x = torch.randn(2, 3, 64, 48)
    torch.testing.assert_close(lora(x)[0], plain(x)[0])


def test_rank_zero_target_stays_plain():
    model = _tiny(lora=dict(targets=dict(qkv=dict(rank=4, alpha=4), proj=dict(rank=0))))
    assert isinstance(model.layers[0].attn.qkv, LoRALinear)
    assert not isinstance(model.layers[0].attn.proj, LoRALinear)


def test_merge_lora_matches_unmerged_and_is_plain():
    torch.manual_seed(0)
    model = _tiny(lora=dict(targets=dict(qkv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
                            drop_rate=0.1))
    for m in model.lora_modules().values():
        nn.init.normal_(m.lora_up.weight, std=0.05)  # a trained, non-zero adapter
    model.eval()
    x = torch.randn(2, 3, 64, 48)
    before = model(x)[0]
    model.merge_lora()
    assert not model.lora_modules()
    assert all(type(m) is nn.Linear for n, m in model.named_modules()
               if n.endswith(('qkv', 'proj')))
    torch.testing.assert_close(model(x)[0], before, atol=1e-5, rtol=0)
    # The merged weights load into a backbone built without LoRA.
    plain = _tiny(lora=None)
    plain.load_state_dict(model.state_dict())


@pytest.mark.parametrize('tokens,aspect,expected', [
    (4097, 1.0, ((64, 64), 1)),      # pretrain release: 64x64 + class token
    (3072, 64 / 48, ((64, 48), 0)),  # pose checkpoints at 1024x768
    (4096, 1.0, ((64, 64), 0)),
])
def test_infer_pos_embed_grid(tokens, aspect, expected):
    assert infer_pos_embed_grid(tokens, aspect) == expected


def test_loads_pretrain_layout_with_class_token_pos_embed():
    src = _tiny(lora=None, img_size=(32, 32))  # 2x2 grid
    state = {k: v.clone() for k, v in src.state_dict().items()}
    state['pos_embed'] = torch.cat([torch.zeros(1, 1, 32), state['pos_embed']], dim=1)
    model = _tiny()  # 4x3 grid
    model.load_state_dict(state, strict=False)
    assert model.pos_embed.shape == (1, 12, 32)
    torch.testing.assert_close(model.layers[1].attn.qkv.weight, src.layers[1].attn.qkv.weight)


def test_layer_decay_reaches_lora_parameters():
    """MMPose's layer decay sees ``backbone.layers.N`` names and scales per layer."""
    from mmpose.engine.optim_wrappers import LayerDecayOptimWrapperConstructor

    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='SapiensViT', arch=TINY, img_size=(64, 48)),
        head=dict(type='HeatmapHead', in_channels=32, out_channels=3,
                  deconv_out_channels=(16, ), deconv_kernel_sizes=(4, ),
                  loss=dict(type='KeypointMSELoss', use_target_weight=True))))
    wrapper = LayerDecayOptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1)),
        paramwise_cfg=dict(num_layers=2, layer_decay_rate=0.5))(model)
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    params = dict(model.named_parameters())
    # 4 depth levels (embeddings, 2 layers, rest): layer N gets 0.5 ** (2 - N).
    assert lr_of[id(params['backbone.layers.0.attn.qkv.lora_down.weight'])] == 0.25
    assert lr_of[id(params['backbone.layers.1.attn.proj.lora_up.weight'])] == 0.5
    assert lr_of[id(params[next(n for n in params if n.startswith('head.'))])] == 1.0
    # Frozen base weights are not handed to the optimizer at all.
    assert id(params['backbone.layers.0.attn.qkv.weight']) not in lr_of


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    ref = _tiny(lora=dict(targets=dict(qkv=dict(rank=4, alpha=4)), drop_rate=0.0))
    for m in ref.lora_modules().values():
        nn.init.normal_(m.lora_up.weight, std=0.05)
    cp = _tiny(lora=dict(targets=dict(qkv=dict(rank=4, alpha=4)), drop_rate=0.0), with_cp=True)
    cp.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 64, 48)
    assert_same_lora_gradients(ref, cp, x)


def test_bf16_autocast_trains_lora_on_cpu():
    torch.manual_seed(0)
    model = _tiny(with_cp=True)
    model.train()
    dtypes = []
    model.layers[0].attn.qkv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 64, 48))[0]
    assert dtypes[0] == torch.bfloat16  # the adapted linears ran in bf16
    out.float().square().mean().backward()
    lora_grads = [p.grad for n, p in model.named_parameters() if '.lora_' in n]
    assert lora_grads and all(g is not None and torch.isfinite(g).all() for g in lora_grads)
    assert all(p.grad is None for n, p in model.named_parameters() if '.lora_' not in n)
