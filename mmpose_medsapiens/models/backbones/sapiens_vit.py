"""Sapiens ViT backbone with in-place LoRA on its attention layers."""
import copy
import math
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint
from mmengine.logging import MMLogger
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mmpose.registry import MODELS
from .lora_linear import LoRALinear
from .sapiens_checkpoint import (IncompleteCheckpointError, canonical_backbone_key, describe_keys,
                                 load_backbone_checkpoint, read_backbone_state)

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


def _count(params) -> int:
    return sum(p.numel() for p in params)


@MODELS.register_module()
class SapiensViT(VisionTransformer):
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
    def _add_lora(self, lora: dict) -> None:
        unknown = set(lora) - {'targets', 'drop_rate'}
        if unknown:
            raise KeyError(f'Unknown LoRA options {sorted(unknown)}; use targets and drop_rate')
        drop_rate = lora.get('drop_rate', 0.)
        for target, spec in lora.get('targets', {}).items():
            rank = spec.get('rank', 0)
            if rank == 0:
                continue
            found = 0
            for layer in self.layers:
                linear = getattr(layer.attn, target, None)
                if not isinstance(linear, nn.Linear):
                    continue
                setattr(layer.attn, target,
                        LoRALinear.from_linear(linear, rank, spec.get('alpha', rank), drop_rate))
                found += 1
            if not found:
                raise KeyError(f'LoRA target "{target}" is not a linear of the attention '
                               f'layers (try "qkv" or "proj")')

    def _freeze_all_but_lora(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = '.lora_' in name

    def lora_modules(self) -> Dict[str, LoRALinear]:
        return {n: m for n, m in self.named_modules() if isinstance(m, LoRALinear)}

    @torch.no_grad()
    def merge_lora(self) -> None:
        """Fold every adapter into its base weight; the model becomes a plain ViT."""
        for name, module in self.lora_modules().items():
            parent_name, child = name.rsplit('.', 1)
            setattr(self.get_submodule(parent_name), child, module.merge())
        self.lora_cfg = None

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
    def init_weights(self):
        """Load ``init_cfg=dict(type='Pretrained', checkpoint=...)`` with a key report.

        Any of the published layouts loads (see ``sapiens_checkpoint``);
        other ``init_cfg`` types behave as in mmpretrain.
        """
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            load_backbone_checkpoint(self, self.init_cfg['checkpoint'],
                                     prefix=self.init_cfg.get('prefix'))
            self._is_init = True
        else:
            super().init_weights()
        logger = MMLogger.get_current_instance()
        total = _count(self.parameters())
        trainable = _count(p for p in self.parameters() if p.requires_grad)
        logger.info(f'SapiensViT: {trainable:,} trainable / {total:,} parameters '
                    f'({100.0 * trainable / max(total, 1):.3f}%)')

    def _complete_state_dict_hook(self, state_dict, prefix, *args, **kwargs):
        self.complete_state_dict(state_dict, prefix)

    def complete_state_dict(self, state_dict: dict, prefix: str = '') -> None:
        """Prepare a checkpoint's state dict for this backbone, in place.

        Keys under ``prefix`` get canonical names (see
        :func:`canonical_backbone_key`). A state that holds LoRA adapters but
        none of the base weights (a MedSapiens LoRA release, whose
        ``LoRAModel`` saves only ``lora_`` tensors, or an adapter-only
        checkpoint) gets the base from the checkpoint of this backbone's
        ``init_cfg=dict(type='Pretrained', ...)``, so no tensor stays random.

        Raises:
            IncompleteCheckpointError: The state holds no base weights and
                there is no pretrained ``init_cfg`` that has them all.
        """
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new_key = prefix + canonical_backbone_key(key[len(prefix):])
            if new_key != key:
                state_dict[new_key] = state_dict.pop(key)
        keys = {k[len(prefix):] for k in state_dict if k.startswith(prefix)}
        own = self.state_dict()
        base_keys = [k for k in own if '.lora_' not in k]
        if not any('.lora_' in k for k in keys) or any(k in keys for k in base_keys):
            return  # a full (or partial plain) state: the caller's strict check decides
        init_cfg = self.init_cfg
        if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
            raise IncompleteCheckpointError(
                f'The checkpoint holds only the LoRA adapters of the backbone, no base '
                f'weights, and the backbone has no init_cfg=dict(type="Pretrained", '
                f'checkpoint=...) to restore them from, so {describe_keys(base_keys)} would '
                f'stay random. mmpose.apis.init_model drops backbone.init_cfg: use '
                f'mmpose_medsapiens.apis.init_landmark_model (as tools/infer.py does), or '
                f'set model.backbone.init_cfg to the base checkpoint.')
        base = read_backbone_state(self, init_cfg['checkpoint'], init_cfg.get('prefix'))
        absent = [k for k in base_keys if k not in base or base[k].shape != own[k].shape]
        if absent:
            raise IncompleteCheckpointError(
                f'The checkpoint holds only the LoRA adapters of the backbone and the base '
                f'checkpoint {init_cfg["checkpoint"]} lacks (or has other shapes for) '
                f'{describe_keys(absent)}')
        for key in base_keys:
            state_dict[prefix + key] = base[key]
        MMLogger.get_current_instance().info(
            f'The checkpoint holds LoRA adapters only: restored {len(base_keys)} base '
            f'backbone tensors from {init_cfg["checkpoint"]}')

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
