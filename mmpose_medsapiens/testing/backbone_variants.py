"""The backbone variants the LoRA benchmarks compare, built alike.

* ``lora``: :class:`SapiensViT` with its default (MedSapiens) in-place LoRA;
* ``full``: ``SapiensViT(lora=None)``, every parameter trainable (what a
  merged LoRA model is);
* ``mmpretrain_lora``: mmpretrain's ``LoRAModel`` around a plain mmpretrain
  ``VisionTransformer``, configured as the MedSapiens release does (rank 4 /
  alpha 4 on ``.*qkv``, rank 8 / alpha 8 on ``proj``, dropout 0.1).

Used by ``tools/benchmarks/lora_training_cost.py`` and
``merged_inference.py``; mmpretrain (for its ``LoRAModel``) is imported on first use.
"""
import contextlib
import copy
import logging
import re

import torch
from mmengine.logging import MMLogger

from ..models import SAPIENS_ARCHS, SapiensViT

#: The variants of :func:`build_backbone_variant`.
BACKBONE_VARIANTS = ('lora', 'mmpretrain_lora', 'full')
#: MedSapiens' ``LoRAModel`` settings (legs/hand/head/chest LoRA configs).
MMPRETRAIN_LORA = dict(
    alpha=4, rank=4, drop_rate=0.1,
    targets=[dict(type='.*qkv'), dict(type='proj', alpha=8, rank=8)])


@contextlib.contextmanager
def quiet_mmengine_logs():
    """Drop mmengine's INFO lines (``LoRAModel`` logs one per adapted layer)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_backbone_variant(variant: str, arch, img_size):
    """Build one backbone variant in training mode.

    Args:
        variant (str): One of :data:`BACKBONE_VARIANTS`.
        arch (str | dict): Sapiens arch name or arch dict.
        img_size (tuple): Input size as (h, w).

    Returns:
        nn.Module: The backbone; its ``forward`` returns a tuple of feature maps.
    """
    if variant == 'lora':
        model = SapiensViT(arch=arch, img_size=img_size)
    elif variant == 'full':
        model = SapiensViT(arch=arch, img_size=img_size, lora=None)
    elif variant == 'mmpretrain_lora':
        from mmpretrain.models.peft import LoRAModel

        # The plain mmpretrain ViT with the Sapiens settings, as in the
        # MedSapiens configs (mmpretrain does not know the Sapiens arch names).
        arch_dict = SAPIENS_ARCHS[arch] if isinstance(arch, str) else arch
        with quiet_mmengine_logs():
            model = LoRAModel(
                module=dict(type='mmpretrain.VisionTransformer', arch=arch_dict, img_size=img_size,
                            patch_size=16, qkv_bias=True, final_norm=True,
                            drop_path_rate=0.0, with_cls_token=False, out_type='featmap',
                            patch_cfg=dict(padding=2)),
                **MMPRETRAIN_LORA)
    else:
        raise KeyError(f'unknown variant {variant!r}; choose one of {BACKBONE_VARIANTS}')
    model.train()  # mmpretrain's ViT.train() returns None, so no chaining
    return model


def _to_mmpretrain_keys(state_dict: dict) -> dict:
    """Rename in-place LoRA keys to the ``original_layer`` layout of mmpretrain."""
    pattern = re.compile(r'^(.*\.attn\.(?:qkv|proj))\.(weight|bias)$')
    return {pattern.sub(r'\1.original_layer.\2', k): v for k, v in state_dict.items()}


def build_merge_variants(arch, img_size, lora_up_std: float = 0.05, seed: int = 0) -> dict:
    """``plain``, ``lora``, ``merged`` and ``mmpretrain_lora``, in eval mode, on
    shared weights and adapters.

    All four share the base weights, and the three LoRA forms share one set of
    adapters whose ``lora_up`` is randomised (it starts at zero, which would
    make the merge trivial), so they compute the same function.

    Args:
        arch (str | dict): Sapiens arch name or arch dict.
        img_size (tuple): Input size as (h, w).
        lora_up_std (float): Std of the random ``lora_up`` weights.
        seed (int): Seed of the base weights and adapters.

    Returns:
        dict: Variant name to model.
    """

    torch.manual_seed(seed)
    plain = build_backbone_variant('full', arch, img_size)  # SapiensViT(lora=None)
    lora = build_backbone_variant('lora', arch, img_size)
    # Base weights equal to plain's; the adapters stay as built, then get a
    # non-zero lora_up so that merging changes the weights.
    lora.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        for module in lora.lora_modules().values():
            module.lora_up.weight.normal_(0, lora_up_std)
    merged = copy.deepcopy(lora)
    merged.merge_lora()
    mmpretrain_lora = build_backbone_variant('mmpretrain_lora', arch, img_size)
    # Same weights and adapters as ``lora`` (LoRAModel's own state_dict keeps
    # only the adapters, so load into the wrapped module).
    mmpretrain_lora.module.load_state_dict(_to_mmpretrain_keys(lora.state_dict()))

    models = dict(plain=plain, lora=lora, merged=merged, mmpretrain_lora=mmpretrain_lora)
    for model in models.values():
        model.eval()
    return models
