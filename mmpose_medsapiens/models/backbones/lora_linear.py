"""A ``nn.Linear`` that carries a LoRA adapter in place."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRALinear(nn.Linear):
    """Linear layer with a low-rank adapter, keeping the base parameter names.

    ``y = x W^T + b + scaling * up(down(dropout(x)))`` with
    ``scaling = alpha / rank``.

    Unlike mmpretrain's ``LoRALinear``, which wraps the original layer as
    ``original_layer``, this class *is* the linear layer: the base weights keep
    their names (``...attn.qkv.weight``), so pretrained Sapiens checkpoints
    load without key remapping, and the adapter tensors are named
    ``...attn.qkv.lora_down.weight`` / ``lora_up.weight`` exactly as in the
    MedSapiens LoRA releases. ``lora_up`` starts at zero, so an adapted model
    initially computes the same function as the base model.

    Args:
        in_features (int): Input features.
        out_features (int): Output features.
        rank (int): Rank of the adapter. Must be positive.
        alpha (float): Scaling numerator; ``scaling = alpha / rank``.
        drop_rate (float): Dropout applied to the adapter input.
        bias (bool): Whether the base layer has a bias. Defaults to True.
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 rank: int,
                 alpha: float,
                 drop_rate: float = 0.,
                 bias: bool = True,
                 device=None,
                 dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        if rank <= 0:
            raise ValueError(f'LoRA rank must be positive, got {rank}')
        self.rank = rank
        self.alpha = alpha
        self.scaling = alpha / rank
        self.lora_dropout = nn.Dropout(drop_rate)
        self.lora_down = nn.Linear(in_features, rank, bias=False, device=device, dtype=dtype)
        self.lora_up = nn.Linear(rank, out_features, bias=False, device=device, dtype=dtype)
        self.reset_lora_parameters()

    def reset_lora_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.lora_down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_up.weight)

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int, alpha: float,
                    drop_rate: float = 0.) -> 'LoRALinear':
        """Build a LoRA layer that shares ``linear``'s weight and bias."""
        layer = cls(linear.in_features, linear.out_features, rank, alpha, drop_rate,
                    bias=linear.bias is not None, device=linear.weight.device,
                    dtype=linear.weight.dtype)
        layer.weight = linear.weight
        if linear.bias is not None:
            layer.bias = linear.bias
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        return out + self.lora_up(self.lora_down(self.lora_dropout(x))) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """The dense update ``scaling * up @ down`` the adapter stands for."""
        return (self.lora_up.weight @ self.lora_down.weight) * self.scaling

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """Return a plain ``nn.Linear`` with the adapter folded into its weight."""
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                           device=self.weight.device, dtype=self.weight.dtype)
        linear.weight.copy_(self.weight + self.delta_weight().to(self.weight.dtype))
        if self.bias is not None:
            linear.bias.copy_(self.bias)
        linear.weight.requires_grad_(self.weight.requires_grad)
        if self.bias is not None:
            linear.bias.requires_grad_(self.bias.requires_grad)
        return linear

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, rank={self.rank}, alpha={self.alpha}')
