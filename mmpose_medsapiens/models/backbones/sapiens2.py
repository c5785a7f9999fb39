"""Sapiens2 ViT backbone (facebookresearch/sapiens2) with in-place LoRA."""
import contextlib
import copy
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch.nn.init import trunc_normal_
from torch.utils.checkpoint import checkpoint

from .lora_backbone import LoRABackboneMixin
from .sapiens2_checkpoint import load_sapiens2_checkpoint, read_sapiens2_state, sapiens2_key
from .sapiens2_layers import (LayerScale, RMSNorm, Rope2D, Sapiens2Block, WindowTokenizer,
                              rope_dtype_of)

# Arch presets of the released models. The SwiGLU hidden width is 4x the
# embedding (w12 maps C -> 8C). ``num_tokenizer_layers`` is the depth of the
# window tokenizer of the 4K variant (only ``sapiens2_1b`` is released so).
SAPIENS2_ARCHS = {
    'sapiens2_0.1b': dict(embed_dims=768, num_layers=12, num_heads=12,
                          feedforward_channels=3072, num_tokenizer_layers=2),
    'sapiens2_0.4b': dict(embed_dims=1024, num_layers=24, num_heads=16,
                          feedforward_channels=4096, num_tokenizer_layers=2),
    'sapiens2_0.8b': dict(embed_dims=1280, num_layers=32, num_heads=16,
                          feedforward_channels=5120, num_tokenizer_layers=3),
    'sapiens2_1b': dict(embed_dims=1536, num_layers=40, num_heads=24,
                        feedforward_channels=6144, num_tokenizer_layers=4),
    'sapiens2_5b': dict(embed_dims=2432, num_layers=56, num_heads=32,
                        feedforward_channels=9728, num_tokenizer_layers=6),
}

# The MedSapiens recipe carried over: its rank-4 fused qkv adapter becomes a
# rank-4 adapter on each of wq, wk and wv, and the projection keeps rank 8.
SAPIENS2_DEFAULT_LORA = dict(
    targets=dict(wq=dict(rank=4, alpha=4), wk=dict(rank=4, alpha=4), wv=dict(rank=4, alpha=4),
                 proj=dict(rank=8, alpha=8)),
    drop_rate=0.1)


class Sapiens2PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` convolution, no padding (sizes floor)."""

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor):
        x = self.projection(x)
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


@MODELS.register_module()
class Sapiens2ViT(LoRABackboneMixin, BaseModule):
    """Sapiens2 Vision Transformer with optional LoRA, for top-down pose heads.

    The released Sapiens2 architecture: patch embedding without padding, a
    class token and ``n_storage_tokens`` storage tokens in front of the
    patches, 2D RoPE on the patch tokens (computed in bf16 by default, as
    trained), pre-RMSNorm layers with separate q/k/v projections, per-head
    q/k RMSNorm, grouped-query attention (half the key/value heads) in all
    but the first and last ``mhsa_layers`` layers, LayerScale on the
    attention branch, SwiGLU FFN, and a final RMSNorm ``ln1``. Optionally the
    window tokenizer of the 4K model, which makes the output stride 64.

    The layers are named ``layers.N`` (MMPose's layer-wise lr decay reads
    ``backbone.layers.N``); the published ``blocks.N`` keys are renamed on
    load (see ``sapiens2_checkpoint``). As ``SapiensViT``, LoRA adapters go
    in place on the layers' linears and, when ``lora`` is set, every other
    backbone parameter is frozen.

    Args:
        arch (str | dict): ``'sapiens2_0.1b'``, ``'sapiens2_0.4b'``,
            ``'sapiens2_0.8b'``, ``'sapiens2_1b'``, ``'sapiens2_5b'``, or a
            dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` (and ``num_tokenizer_layers`` with the
            tokenizer).
        img_size (int | tuple): Nominal input size (h, w); any size divisible
            by the patch runs (RoPE has no fixed grid).
        patch_size (int): Patch side.
        in_channels (int): Input channels.
        out_indices (int | Sequence[int]): Layers whose output is returned;
            the final norm applies after the last layer only.
        out_type (str): ``'featmap'`` (``(B, C, H/16, W/16)``, what
            ``HeatmapHead`` takes), ``'raw'`` (all tokens) or ``'cls_token'``.
        with_cls_token (bool): Prepend the class token (released models do).
        n_storage_tokens (int): Storage (register) tokens after it.
        final_norm (bool): RMSNorm ``ln1`` after the last layer.
        qkv_bias (bool): Biases of wq, wk, wv.
        use_qk_norm (bool): Per-head RMSNorm of q and k.
        layer_scale_init_value (float): Initial LayerScale of the attention
            branch; 0 for none.
        mhsa_layers (tuple): ``(first, last)`` numbers of layers with all
            key/value heads; the others use ``num_heads // 2`` of them.
        rope_base (float): RoPE period base.
        rope_dtype (str): ``'bf16'`` (released models) or ``'fp32'``.
        use_tokenizer (bool): The 4K model's window tokenizer.
        window_size (int): Tokenizer window side in patches.
        drop_rate (float): Dropout after each attention projection.
        attn_drop_rate (float): Attention dropout.
        frozen_stages (int): Freeze the embeddings and the first
            ``frozen_stages`` layers (and ``ln1`` if all); -1 for none.
        lora (dict, optional): ``dict(targets=dict(<linear>=dict(rank,
            alpha), ...), drop_rate)`` with linears among ``wq``, ``wk``,
            ``wv``, ``proj``, ``w12``, ``w3``; a rank 0 target is left plain.
            ``None`` for full fine-tuning. Defaults to
            :data:`SAPIENS2_DEFAULT_LORA`.
        with_cp (bool): Recompute each layer's activations in the backward
            pass instead of storing them.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...,
            prefix=None)`` loads a published checkpoint (``.safetensors`` or
            ``.pth``); other types behave as in mmengine.
    """

    arch_zoo = SAPIENS2_ARCHS
    OUT_TYPES = ('featmap', 'raw', 'cls_token')
    lora_targets_hint = ' (try "wq", "wk", "wv", "proj", "w12" or "w3")'

    def __init__(self,
                 arch: Union[str, dict] = 'sapiens2_0.4b',
                 img_size: Union[int, Tuple[int, int]] = (1024, 768),
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'featmap',
                 with_cls_token: bool = True,
                 n_storage_tokens: int = 8,
                 final_norm: bool = True,
                 qkv_bias: bool = True,
                 use_qk_norm: bool = True,
                 layer_scale_init_value: float = 1e-4,
                 mhsa_layers: Tuple[int, int] = (8, 8),
                 rope_base: float = 100.0,
                 rope_dtype: str = 'bf16',
                 use_tokenizer: bool = False,
                 window_size: int = 4,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 frozen_stages: int = -1,
                 lora: Optional[dict] = SAPIENS2_DEFAULT_LORA,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = self._arch_settings(arch, use_tokenizer)
        self.arch_settings = settings
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        self.num_heads = settings['num_heads']
        self.patch_size = patch_size
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        stride = patch_size * (window_size if use_tokenizer else 1)
        self.patch_resolution = (self.img_size[0] // stride, self.img_size[1] // stride)
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'Unsupported out_type {out_type!r}; choose from {self.OUT_TYPES}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError('out_type="cls_token" needs with_cls_token=True')
        self.out_type = out_type

        self.patch_embed = Sapiens2PatchEmbed(in_channels, self.embed_dims, patch_size)
        self.rope_embed = Rope2D(self.embed_dims // self.num_heads, rope_base, rope_dtype)
        self.tokenizer = WindowTokenizer(
            self.embed_dims, self.num_heads, settings['num_tokenizer_layers'],
            window_size) if use_tokenizer else None
        self.cls_token = (nn.Parameter(torch.zeros(1, 1, self.embed_dims))
                          if with_cls_token else None)
        self.storage_tokens = (nn.Parameter(torch.zeros(1, n_storage_tokens, self.embed_dims))
                               if n_storage_tokens > 0 else None)
        self.num_extra_tokens = int(with_cls_token) + n_storage_tokens

        first, last = mhsa_layers
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            full = i < first or i >= self.num_layers - last
            self.layers.append(Sapiens2Block(
                self.embed_dims, self.num_heads, settings['feedforward_channels'],
                num_kv_heads=None if full else self.num_heads // 2, qkv_bias=qkv_bias,
                use_qk_norm=use_qk_norm, layer_scale_init_value=layer_scale_init_value,
                drop_rate=drop_rate, attn_drop_rate=attn_drop_rate))
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = RMSNorm(self.embed_dims)

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = [i + self.num_layers if i < 0 else i for i in out_indices]
        bad = [i for i in self.out_indices if not 0 <= i < self.num_layers]
        if bad:
            raise ValueError(f'out_indices {bad} outside the {self.num_layers} layers')

        self._init_random_weights()
        # Whole-model checkpoints (runner, init_model) pass through here, so
        # their published blocks.N keys get renamed and adapter-only states
        # get their base from init_cfg.
        self._register_load_state_dict_pre_hook(self._complete_state_dict_hook)
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self._freeze_stages()
        self.lora_cfg = copy.deepcopy(lora)
        if lora:
            self._add_lora(lora)
            self._freeze_all_but_lora()

    @classmethod
    def _arch_settings(cls, arch, use_tokenizer: bool) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_zoo:
                raise KeyError(f'Arch {arch} is not known to Sapiens2ViT; choose one of '
                               f'{sorted(cls.arch_zoo)} or pass a dict')
            return dict(cls.arch_zoo[arch.lower()])
        needed = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'}
        if use_tokenizer:
            needed.add('num_tokenizer_layers')
        if not needed <= set(arch):
            raise KeyError(f'A custom arch needs {sorted(needed)}, got {sorted(arch)}')
        return dict(dict(num_tokenizer_layers=0), **arch)

    # ------------------------------------------------------------- settings
    @property
    def with_cp(self) -> bool:
        return self._with_cp

    @with_cp.setter
    def with_cp(self, value: bool) -> None:
        self._with_cp = bool(value)
        if self.tokenizer is not None:
            self.tokenizer.with_cp = self._with_cp

    @property
    def rope_dtype(self) -> torch.dtype:
        """RoPE's compute dtype; set ``'bf16'`` or ``'fp32'`` (the saved periods stay)."""
        return self.rope_embed.dtype

    @rope_dtype.setter
    def rope_dtype(self, dtype) -> None:
        self.rope_embed.dtype = rope_dtype_of(dtype)

    @contextlib.contextmanager
    def onnx_export_mode(self):
        """Within it, the model is made of ops that ONNX runtimes run on CPU.

        RoPE is computed in fp32 (onnxruntime's CPU provider has no bf16
        Sin/Cos/Mul) and the RMSNorms are written as elementary ops (the
        TorchScript exporter has no ``rms_norm``). The graph is then not the
        bf16-RoPE model but its fp32-RoPE twin, which differs slightly.
        """
        dtype = self.rope_dtype
        norms = [m for m in self.modules() if isinstance(m, RMSNorm)]
        self.rope_dtype = torch.float32
        for norm in norms:
            norm.decompose = True
        try:
            yield self
        finally:
            self.rope_dtype = dtype
            for norm in norms:
                norm.decompose = False

    # ------------------------------------------------------------------ LoRA
    def _lora_parents(self, layer: nn.Module):
        return (layer.attn, layer.ffn)

    def canonical_key(self, key: str) -> str:
        return sapiens2_key(key)

    def read_base_state(self, filename: str, prefix: Optional[str] = None) -> dict:
        return read_sapiens2_state(filename, prefix)

    def load_pretrained(self, filename: str, prefix: Optional[str] = None) -> dict:
        """The published layouts of ``sapiens2_checkpoint``, every tensor or an error."""
        return load_sapiens2_checkpoint(self, filename, prefix=prefix)

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> tuple:
        """Features of ``x`` ``(B, C_in, H, W)``; a tuple with one entry per out index."""
        if torch.onnx.is_in_onnx_export() and self.rope_dtype != torch.float32:
            raise RuntimeError('Export a Sapiens2 model inside `with model.backbone.'
                               'onnx_export_mode():` (bf16 RoPE does not run in ONNX runtimes)')
        x, hw = self.patch_embed(x)
        if self.tokenizer is not None:
            x, hw = self.tokenizer(x, hw)
        extra = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.storage_tokens)
                 if t is not None]
        if extra:
            x = torch.cat(extra + [x], dim=1)
        rope = self.rope_embed(hw, device=x.device)
        outs = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = checkpoint(layer, x, rope, use_reentrant=False)
            else:
                x = layer(x, rope)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, hw))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patches = x[:, self.num_extra_tokens:]
        return patches.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)

    # --------------------------------------------------------- weights / log
    @torch.no_grad()
    def _init_random_weights(self) -> None:
        """Truncated-normal linears and tokens, zero biases, unit norms."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, RMSNorm) and module.weight is not None:
                nn.init.ones_(module.weight)
            elif isinstance(module, LayerScale):
                module.weight.fill_(module.init_value)
        for token in (self.cls_token, self.storage_tokens):
            if token is not None:
                trunc_normal_(token, std=0.02)
        if self.tokenizer is not None:
            trunc_normal_(self.tokenizer.local_pos_embed, std=0.02)
            trunc_normal_(self.tokenizer.w_cls, std=0.02)
        self.rope_embed.reset_periods()

    # -------------------------------------------------------------- freezing
    def _freeze_stages(self) -> None:
        if self.frozen_stages <= 0:
            return
        frozen = [self.patch_embed] + list(self.layers[:self.frozen_stages])
        if self.tokenizer is not None:
            frozen.append(self.tokenizer)
        if self.final_norm and self.frozen_stages >= self.num_layers:
            frozen.append(self.ln1)
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        for token in (self.cls_token, self.storage_tokens):
            if token is not None:
                token.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self
