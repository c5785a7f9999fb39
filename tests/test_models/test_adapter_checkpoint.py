"""Adapter-only state dicts hold CPU tensors whatever device the model is on."""
import io

import torch
from helpers.off_cpu import is_plain, off_cpu

from mmpose_medsapiens.models import SapiensViT, adapter_state_dict

TINY = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=32)


class _Estimator(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = SapiensViT(arch=TINY, img_size=(32, 32), patch_size=16)
        self.head = torch.nn.Sequential(torch.nn.Conv2d(32, 4, 1), torch.nn.BatchNorm2d(4))


def test_adapter_tensors_are_host_copies_that_a_weights_only_load_reads():
    model = _Estimator()
    on_device = {k: off_cpu(v) for k, v in model.state_dict().items()}
    model.state_dict = lambda: on_device  # the state dict of a model on a GPU
    state = adapter_state_dict(model)
    assert any('.lora_' in k for k in state) and 'head.1.running_mean' in state
    assert not any(k.startswith('backbone.') and '.lora_' not in k for k in state)
    assert all(is_plain(v) and v.device.type == 'cpu' for v in state.values())
    # Copies: later training steps do not change a state dict already taken.
    assert all(v.data_ptr() != on_device[k].data_ptr() for k, v in state.items())
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)  # what a CPU-only host does
    assert all(torch.equal(loaded[k], state[k]) for k in state)
