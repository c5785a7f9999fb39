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
    0.3B). Such checkpoints need the backbone's pretrained ``init_cfg`` to
    be loadable, which the same config provides, so ``--resume`` and
    ``tools/test.py`` keep working with that config.

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

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the frozen base before an adapter-only checkpoint loads.

        The runner calls this before copying the checkpoint into the model;
        testing never runs ``init_weights``, so the base is loaded here.
        """
        if not checkpoint.get('meta', {}).get('adapter_only'):
            return
        backbone = unwrap_model(runner.model).backbone
        init_cfg = getattr(backbone, 'init_cfg', None)
        if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
            raise ValueError('This is an adapter-only checkpoint: set '
                             'model.backbone.init_cfg=dict(type="Pretrained", checkpoint=...) '
                             'to the pretrained backbone it was trained from')
        backbone.init_weights()


def unwrap_model(model):
    """The model inside a DDP-style wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model
