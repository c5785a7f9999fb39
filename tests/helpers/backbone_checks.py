"""Checks shared by the backbone tests (Sapiens and Sapiens2)."""
import torch


def assert_same_lora_gradients(ref: torch.nn.Module, other: torch.nn.Module,
                               x: torch.Tensor) -> None:
    """Both backbones, trained one step on ``x``, give the same trainable gradients.

    Args:
        ref (nn.Module): The reference backbone.
        other (nn.Module): The same weights run another way (e.g. ``with_cp``).
        x (Tensor): The input batch.
    """
    grads = []
    for model in (ref, other):
        model.train()
        model(x)[0].square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], msg=name)
