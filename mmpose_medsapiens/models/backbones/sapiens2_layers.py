"""Building blocks of the Sapiens2 ViT: RMSNorm, 2D RoPE, GQA attention, SwiGLU.

Module and parameter names follow the published Sapiens2 checkpoints
(``ln1``, ``attn.wq``/``wk``/``wv``/``proj``, ``attn.q_norm``/``k_norm``,
``attn.gamma``, ``ln2``, ``ffn.w12``/``w3``, ``rope_embed.periods``), so the
released tensors load under their own names.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

ROPE_DTYPES = {'bf16': torch.bfloat16, 'fp32': torch.float32}


def rope_dtype_of(dtype) -> torch.dtype:
    """``'bf16'`` / ``'fp32'`` / a ``torch.dtype`` to the RoPE compute dtype."""
    if isinstance(dtype, torch.dtype) and dtype in ROPE_DTYPES.values():
        return dtype
    if dtype in ROPE_DTYPES:
        return ROPE_DTYPES[dtype]
    raise ValueError(f'RoPE dtype must be one of {sorted(ROPE_DTYPES)}, got {dtype!r}')


class RMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` (torch >= 2.4) that can run as elementary ops.

    The TorchScript ONNX exporter has no symbolic for ``aten::rms_norm``, so
    while exporting (or with ``decompose=True``) the norm is written as
    ``x * rsqrt(mean(x^2) + eps) * weight``, which every runtime has.
    """

    def __init__(self, dims: int, eps: float = 1e-6, **kwargs):
        super().__init__(dims, eps=eps, **kwargs)
        self.decompose = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.decompose or torch.onnx.is_in_onnx_export()):
            return super().forward(x)
        out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return out * self.weight if self.weight is not None else out


class LayerScale(nn.Module):
    """Per-channel scale of a residual branch (``weight`` starts at ``init_value``).

    Args:
        dims (int): Channels.
        init_value (float): Initial value of every scale.
    """

    def __init__(self, dims: int, init_value: float = 1e-4):
        super().__init__()
        self.init_value = init_value
        self.weight = nn.Parameter(torch.full((dims, ), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


class Rope2D(nn.Module):
    """Axial 2D rotary position embedding of the patch grid.

    Each head's channels are split in a height and a width half; channel pair
    ``i`` of a half turns by ``2 pi c / period_i`` where ``c`` is the patch
    centre's coordinate normalised to ``[-1, 1]`` per axis (so any grid,
    square or not, spans the same range) and ``period_i = base ** (4 i /
    head_dims)``. Everything is computed in ``dtype`` (bf16 in the released
    models, which the weights were trained with).

    Args:
        head_dims (int): Channels per attention head, a multiple of 4.
        base (float): Period base.
        dtype (torch.dtype): Compute dtype of the angles and the rotation.
    """

    def __init__(self, head_dims: int, base: float = 100.0, dtype=torch.bfloat16):
        super().__init__()
        if head_dims % 4:
            raise ValueError(f'2D RoPE needs head channels divisible by 4, got {head_dims}')
        self.head_dims = head_dims
        self.base = base
        self.dtype = rope_dtype_of(dtype)
        # Saved with the weights (the released files hold it).
        self.register_buffer('periods', self._periods(), persistent=True)

    def _periods(self, device=None) -> torch.Tensor:
        quarter = self.head_dims // 4
        exponent = 2 * torch.arange(quarter, device=device, dtype=self.dtype) / (2 * quarter)
        return self.base**exponent

    def reset_periods(self) -> None:
        with torch.no_grad():
            self.periods.copy_(self._periods(self.periods.device))

    def forward(self, hw: Tuple[int, int], device=None) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(sin, cos)``, each ``(H * W, head_dims)`` in row-major patch order.

        Args:
            hw (tuple): The patch grid ``(H, W)``.
            device: Where to build them (the input's device).
        """
        h, w = hw
        device = self.periods.device if device is None else device
        kw = dict(device=device, dtype=self.dtype)
        ys = torch.arange(0.5, h, **kw) / h
        xs = torch.arange(0.5, w, **kw) / w
        coords = torch.stack(torch.meshgrid(ys, xs, indexing='ij'), dim=-1).flatten(0, 1)
        coords = 2.0 * coords - 1.0
        periods = self.periods.to(**kw)
        angles = (2 * math.pi) * coords.unsqueeze(-1) / periods  # (HW, 2, D/4)
        angles = angles.flatten(1).repeat(1, 2)  # (HW, D): [y, x, y, x] quarters
        return torch.sin(angles), torch.cos(angles)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[a, b] -> [-b, a]`` over the last dimension."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotate the last ``len(sin)`` tokens of ``x`` ``(B, heads, N, D)``.

    The leading (class and storage) tokens are not rotated. The whole tensor
    passes through RoPE's dtype and back, so that the leading tokens see the
    same rounding as in the released models.
    """
    dtype = x.dtype
    x = x.to(sin.dtype)
    num_prefix = x.shape[-2] - sin.shape[-2]
    prefix, patches = x[..., :num_prefix, :], x[..., num_prefix:, :]
    patches = patches * cos + rotate_half(patches) * sin
    return torch.cat([prefix, patches], dim=-2).to(dtype)


class GroupedQueryAttention(nn.Module):
    """Multi-head attention with separate q/k/v linears, grouped k/v heads,
    per-head RMSNorm of q and k, RoPE and a LayerScale on the output.

    Args:
        embed_dims (int): Channels.
        num_heads (int): Query heads.
        num_kv_heads (int, optional): Key/value heads, dividing ``num_heads``;
            ``None`` for plain multi-head attention.
        qkv_bias (bool): Biases of wq, wk, wv.
        use_qk_norm (bool): RMSNorm over each head's q and k channels.
        layer_scale_init_value (float): Initial LayerScale; 0 for none.
        attn_drop (float): Attention dropout in training.
        proj_drop (float): Dropout after the output projection.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_kv_heads: Optional[int] = None,
                 qkv_bias: bool = True,
                 use_qk_norm: bool = True,
                 layer_scale_init_value: float = 0.,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads or num_heads
        if embed_dims % num_heads or num_heads % self.num_kv_heads:
            raise ValueError(f'{embed_dims} channels, {num_heads} heads and '
                             f'{self.num_kv_heads} key/value heads do not divide')
        self.head_dims = embed_dims // num_heads
        kv_dims = self.num_kv_heads * self.head_dims
        self.attn_drop = attn_drop
        self.wq = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.wk = nn.Linear(embed_dims, kv_dims, bias=qkv_bias)
        self.wv = nn.Linear(embed_dims, kv_dims, bias=qkv_bias)
        self.use_qk_norm = use_qk_norm
        if use_qk_norm:
            self.q_norm = RMSNorm(self.head_dims)
            self.k_norm = RMSNorm(self.head_dims)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.gamma = (LayerScale(embed_dims, layer_scale_init_value)
                      if layer_scale_init_value > 0 else nn.Identity())

    def _heads(self, x: torch.Tensor, num_heads: int) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, num_heads, self.head_dims).transpose(1, 2)

    def forward(self, x: torch.Tensor, rope=None) -> torch.Tensor:
        b, n, _ = x.shape
        q = self._heads(self.wq(x), self.num_heads)
        k = self._heads(self.wk(x), self.num_kv_heads)
        v = self._heads(self.wv(x), self.num_kv_heads)
        if self.use_qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            # Elementwise per head, so k turns before its heads are repeated.
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if self.num_kv_heads != self.num_heads:
            group = self.num_heads // self.num_kv_heads
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        out = self.proj(out.transpose(1, 2).reshape(b, n, self.embed_dims))
        return self.gamma(self.proj_drop(out))


class SwiGLUFFN(nn.Module):
    """``w3(silu(a) * b)`` with ``[a, b] = w12(x)``; hidden width ``hidden_dims``.

    The released models use ``hidden_dims = 4 * embed_dims`` (``w12`` is
    ``embed -> 8 embed``), not the 2/3-scaled width of LLaMA-style SwiGLU.

    Args:
        embed_dims (int): Channels in and out.
        hidden_dims (int): Width of the gated hidden layer.
        bias (bool): Biases of w12 and w3.
    """

    def __init__(self, embed_dims: int, hidden_dims: int, bias: bool = True):
        super().__init__()
        self.w12 = nn.Linear(embed_dims, 2 * hidden_dims, bias=bias)
        self.w3 = nn.Linear(hidden_dims, embed_dims, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(gate) * value)


class Sapiens2Block(nn.Module):
    """Pre-norm transformer layer: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``.

    Only the attention branch has a LayerScale, as in the released models.

    Args:
        embed_dims (int): Channels.
        num_heads (int): Attention heads.
        feedforward_channels (int): SwiGLU hidden width.
        num_kv_heads (int, optional): Grouped key/value heads.
        qkv_bias (bool): Biases of wq, wk, wv.
        use_qk_norm (bool): RMSNorm of q and k per head.
        layer_scale_init_value (float): Initial LayerScale; 0 for none.
        drop_rate (float): Dropout after the attention projection.
        attn_drop_rate (float): Attention dropout.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 num_kv_heads: Optional[int] = None,
                 qkv_bias: bool = True,
                 use_qk_norm: bool = True,
                 layer_scale_init_value: float = 0.,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.):
        super().__init__()
        self.ln1 = RMSNorm(embed_dims)
        self.attn = GroupedQueryAttention(
            embed_dims, num_heads, num_kv_heads=num_kv_heads, qkv_bias=qkv_bias,
            use_qk_norm=use_qk_norm, layer_scale_init_value=layer_scale_init_value,
            attn_drop=attn_drop_rate, proj_drop=drop_rate)
        self.ln2 = RMSNorm(embed_dims)
        self.ffn = SwiGLUFFN(embed_dims, feedforward_channels)

    def forward(self, x: torch.Tensor, rope=None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), rope=rope)
        return x + self.ffn(self.ln2(x))


class WindowTokenizer(nn.Module):
    """Summarise each ``window x window`` patch window into one token.

    Used by the 4K model: the patch tokens of each window, behind a shared
    summary token and with a learned position embedding of the window, go
    through a few plain transformer layers (no RoPE, no q/k norm, no
    LayerScale); the summary token's output replaces the window.

    Args:
        embed_dims (int): Channels.
        num_heads (int): Attention heads.
        num_layers (int): Transformer layers.
        window_size (int): Window side in patches.
        chunk_size (int): Windows processed at once, to bound memory.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_layers: int,
                 window_size: int = 4, chunk_size: int = 1024):
        super().__init__()
        self.window_size = window_size
        self.chunk_size = chunk_size
        self.local_pos_embed = nn.Parameter(torch.zeros(1, 1 + window_size**2, embed_dims))
        self.blocks = nn.ModuleList(
            Sapiens2Block(embed_dims, num_heads, 4 * embed_dims, use_qk_norm=False)
            for _ in range(num_layers))
        self.w_cls = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.with_cp = False

    def _summarise(self, windows: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.w_cls.expand(windows.shape[0], -1, -1), windows], dim=1)
        x = x + self.local_pos_embed
        for block in self.blocks:
            x = block(x)
        return x[:, 0]

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]):
        """``(B, H*W, C)`` patch tokens to ``(B, H/ws * W/ws, C)`` and the new grid."""
        b, _, c = x.shape
        h, w = hw
        ws = self.window_size
        if h % ws or w % ws:
            raise ValueError(f'The {h}x{w} patch grid is not divisible by the tokenizer '
                             f'window {ws}: use an input size divisible by {16 * ws}')
        gh, gw = h // ws, w // ws
        windows = (x.reshape(b, gh, ws, gw, ws, c).permute(0, 1, 3, 2, 4, 5)
                   .reshape(b * gh * gw, ws * ws, c))
        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        tokens = []
        for start in range(0, windows.shape[0], self.chunk_size):
            chunk = windows[start:start + self.chunk_size]
            tokens.append(checkpoint(self._summarise, chunk, use_reentrant=False)
                          if use_cp else self._summarise(chunk))
        return torch.cat(tokens).view(b, gh * gw, c), (gh, gw)
