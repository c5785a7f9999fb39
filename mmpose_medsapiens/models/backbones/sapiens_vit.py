"""Sapiens ViT backbone with in-place LoRA on its attention layers."""
import copy
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmpose.registry import MODELS
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from torch.utils.checkpoint import checkpoint

from .lora_backbone import LoRABackboneMixin
from .sapiens_checkpoint import (canonical_backbone_key, load_backbone_checkpoint,
                                 read_backbone_state)

# Sapiens arch presets (facebookresearch/sapiens, pretrain/configs/sapiens_mae).
SAPIENS_ARCHS = {
    'sapiens_0.3b': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
    'sapiens_0.6b': dict(embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120),
    'sapiens_1b': dict(embed_dims=1536, num_layers=40, num_heads=24, feedforward_channels=6144),
    'sapiens_2b': dict(embed_dims=1920, num_layers=48, num_heads=32, feedforward_channels=7680),
}

# MedSapiens adapter recipe: rank 4 on qkv, rank 8 on the output projection.
DEFAULT_LORA = dict(
    targets=dict(qkv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
    drop_rate=0.1)


@MODELS.register_module()
class SapiensViT(LoRABackboneMixin, VisionTransformer):
    """Sapiens Vision Transformer with optional LoRA, for top-down pose heads.

    A stock mmpretrain ``VisionTransformer`` that knows the Sapiens archs and
    defaults (patch 16 with padding 2, qkv bias, final norm, no class token,
    feature-map output) and can put LoRA adapters *in place* on the attention
    linears. Parameter names stay ``layers.N.*`` so MMPose's layer-wise lr decay
    keeps working, and the base weights keep the names of the published
    checkpoints.

    When ``lora`` is set, every backbone parameter except the adapters is
    frozen (patch embedding, position embedding and norms included).

    Args:
        arch (str | dict): ``'sapiens_0.3b'``, ``'sapiens_0.6b'``,
            ``'sapiens_1b'``, ``'sapiens_2b'``, any mmpretrain ViT arch, or a
            dict with ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``.
        img_size (int | tuple): Input size as (h, w), e.g. ``(1024, 768)``.
        lora (dict, optional): ``dict(targets=dict(qkv=dict(rank, alpha),
            proj=dict(rank, alpha)), drop_rate=0.1)``. A target with rank 0 is
            left plain. ``None`` means plain fine-tuning of the whole backbone.
            Defaults to the MedSapiens recipe.
        with_cp (bool): Recompute each transformer layer's activations in the
            backward pass instead of storing them (less memory, ~30% more
            compute), for the larger archs at high resolution.
        **kwargs: Other ``VisionTransformer`` arguments.
    """

    arch_zoo = {**VisionTransformer.arch_zoo, **SAPIENS_ARCHS}
    lora_targets_hint = ' (try "qkv" or "proj")'

    def __init__(self,
                 arch: Union[str, dict] = 'sapiens_0.3b',
                 img_size: Union[int, Tuple[int, int]] = (1024, 768),
                 patch_size: int = 16,
                 qkv_bias: bool = True,
                 final_norm: bool = True,
                 with_cls_token: bool = False,
                 out_type: str = 'featmap',
                 patch_cfg: Optional[dict] = None,
                 lora: Optional[dict] = DEFAULT_LORA,
                 with_cp: bool = False,
                 **kwargs):
        if isinstance(arch, str) and arch.lower() not in self.arch_zoo:
            raise KeyError(f'Arch {arch} is not known to SapiensViT; choose one of '
                           f'{sorted(self.arch_zoo)} or pass a dict')
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            qkv_bias=qkv_bias,
            final_norm=final_norm,
            with_cls_token=with_cls_token,
            out_type=out_type,
            patch_cfg=dict(padding=2) if patch_cfg is None else patch_cfg,
            **kwargs)
        # Whole-model checkpoints (runner, init_model, MMPoseInferencer) pass
        # through here: MedSapiens LoRA releases use mmpretrain's LoRAModel key
        # layout and, like adapter-only checkpoints, hold no base weights.
        self._register_load_state_dict_pre_hook(self._complete_state_dict_hook)
        self.with_cp = with_cp
        self.lora_cfg = copy.deepcopy(lora)
        if lora:
            self._add_lora(lora)
            self._freeze_all_but_lora()

    # ------------------------------------------------------------------ LoRA
    def _lora_parents(self, layer: nn.Module):
        return (layer.attn, )

    def canonical_key(self, key: str) -> str:
        return canonical_backbone_key(key)

    def read_base_state(self, filename: str, prefix: Optional[str] = None) -> dict:
        return read_backbone_state(self, filename, prefix)

    def load_pretrained(self, filename: str, prefix: Optional[str] = None) -> dict:
        """Any of the published layouts (see ``sapiens_checkpoint``), with a key report."""
        return load_backbone_checkpoint(self, filename, prefix=prefix)

    def forward(self, x: torch.Tensor) -> tuple:
        """As mmpretrain's ``VisionTransformer.forward``, with optional
        activation checkpointing around each layer."""
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    # --------------------------------------------------------- weights / log
    def resize_checkpoint_pos_embed(self, src: torch.Tensor) -> torch.Tensor:
        """Resize a checkpoint's position embedding to this model's grid.

        Handles the class token of the pretrain release (64x64 + 1 tokens,
        dropped here) and non-square source grids (64x48 pose checkpoints),
        which mmpretrain's square-root guess gets wrong.
        """
        if src.shape == self.pos_embed.shape:
            return src
        num_tokens = src.shape[1]
        grid_h, grid_w = self.patch_resolution
        (h, w), extra = infer_pos_embed_grid(num_tokens, aspect=grid_h / grid_w)
        MMLogger.get_current_instance().info(
            f'Resize pos_embed from a {h}x{w} grid{" (class token dropped)" if extra else ""} '
            f'to {grid_h}x{grid_w}')
        return resize_pos_embed(src[:, extra:], (h, w), (grid_h, grid_w),
                                mode=self.interpolate_mode, num_extra_tokens=0)

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        name = prefix + 'pos_embed'
        if name in state_dict:
            state_dict[name] = self.resize_checkpoint_pos_embed(state_dict[name])


def infer_pos_embed_grid(num_tokens: int, aspect: float) -> Tuple[Tuple[int, int], int]:
    """Guess ``((h, w), num_extra_tokens)`` of a flattened position embedding.

    Square grids (with or without one class token) are exact. Otherwise the
    factorisation ``h * w`` whose ratio ``h / w`` is closest to ``aspect`` is
    used, which matches the Sapiens pose checkpoints (3072 = 64 x 48 for a
    1024x768 input).
    """
    for extra in (0, 1):
        n = num_tokens - extra
        side = int(round(math.sqrt(n)))
        if side * side == n:
            return (side, side), extra
    best = (float('inf'), (num_tokens, 1), 0)
    for extra in (0, 1):
        n = num_tokens - extra
        for h in range(1, n + 1):
            if n % h:
                continue
            w = n // h
            score = abs(math.log((h / w) / aspect))
            if score < best[0]:
                best = (score, (h, w), extra)
    return best[1], best[2]
