"""FLOPs and kept activations counted on the meta device."""
import torch
import torch.nn as nn

from mmpose_medsapiens.utils.model_cost import (forward_flops, parameter_bytes,
                                                saved_activation_bytes)


def test_linear_flops_are_two_per_multiply_add():
    with torch.device('meta'):
        layer = nn.Linear(64, 32)
        x = torch.zeros(5, 64)
    assert forward_flops(lambda: layer(x)) == 2 * 5 * 64 * 32


def test_frozen_layer_keeps_no_input_and_a_trainable_one_does():
    with torch.device('meta'):
        frozen, trained = nn.Linear(64, 64), nn.Linear(64, 64)
        x = torch.zeros(8, 64)
    frozen.requires_grad_(False)
    model = nn.ModuleDict(dict(frozen=frozen, trained=trained))
    # The trained layer keeps its input (8 x 64 fp32); weights are not counted.
    assert saved_activation_bytes(model, lambda: trained(frozen(x))) == 8 * 64 * 4
    assert saved_activation_bytes(model, lambda: frozen(x)) == 0
    assert saved_activation_bytes(model, lambda: trained(frozen(x)),
                                  skip=lambda t: t.shape == (8, 64)) == 0
    assert parameter_bytes(model) == 2 * (64 * 64 + 64) * 4
    assert parameter_bytes(model, trainable_only=True) == (64 * 64 + 64) * 4
