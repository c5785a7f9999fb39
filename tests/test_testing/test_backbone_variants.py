"""The backbone variants the LoRA benchmarks compare."""
import torch.nn as nn

from mmpose_medsapiens.testing import QUICK_ARCH, build_backbone_variant, build_merge_variants

D = QUICK_ARCH['embed_dims']


def test_mmpretrain_variant_adapts_the_same_layers():
    size = (64, 48)
    ours = build_backbone_variant('lora', QUICK_ARCH, size)
    theirs = build_backbone_variant('mmpretrain_lora', QUICK_ARCH, size)
    ours_lora = {n: p.shape for n, p in ours.named_parameters() if p.requires_grad}
    theirs_lora = {n[len('module.'):]: p.shape for n, p in theirs.named_parameters()
                   if p.requires_grad}
    assert ours_lora == theirs_lora
    assert ours_lora['layers.0.attn.qkv.lora_down.weight'] == (4, D)
    assert ours_lora['layers.1.attn.proj.lora_up.weight'] == (D, 8)
    assert ours.layers[0].attn.qkv.scaling == theirs.module.layers[0].attn.qkv.scaling == 1.0


def test_merge_variants_are_plain_after_merge():
    models = build_merge_variants(QUICK_ARCH, (64, 48))
    assert not models['merged'].lora_modules()
    assert type(models['merged'].layers[0].attn.qkv) is nn.Linear
    assert len(models['lora'].lora_modules()) == 2 * QUICK_ARCH['num_layers']
    assert not any(m.training for m in models.values())
