"""Save only what fine-tuning changed in runner checkpoints, on request."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from mmpose_medsapiens.models import adapter_state_dict


@HOOKS.register_module()
class AdapterCheckpointHook(Hook):
    """Switch runner checkpoints to adapter-only weights (LoRA tensors + head).

    Checkpoints are self-contained by default; with ``adapter_only=True``
    the frozen backbone weights are left out (a few MB instead of >1 GB for
    0.3B). On load the backbone restores them from its pretrained
    ``init_cfg``, which the same config provides (see
    :meth:`SapiensViT.complete_state_dict`), so ``--resume``,
    ``tools/test.py`` and ``tools/infer.py`` keep working with that config.

    Args:
        adapter_only (bool): Whether to strip the frozen weights.
    """

    priority = 'VERY_LOW'

    def __init__(self, adapter_only: bool = False):
        self.adapter_only = adapter_only

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.adapter_only:
            return
        checkpoint['state_dict'] = adapter_state_dict(unwrap_model(runner.model))
        checkpoint.setdefault('meta', {})['adapter_only'] = True


def unwrap_model(model):
    """The model inside a DDP-style wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model
