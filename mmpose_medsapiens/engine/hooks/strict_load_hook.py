"""Refuse runner checkpoints that would leave tensors of the model unloaded."""
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from mmpose_medsapiens.models import complete_model_state, set_checkpoint_state
from .adapter_checkpoint_hook import unwrap_model


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Make ``load_from`` / ``--resume`` / ``tools/test.py`` loads complete.

    MMEngine loads runner checkpoints with ``strict=False`` and only warns
    about keys that did not match, so a checkpoint of another head layout
    silently runs partly on random weights. Before the runner copies the
    checkpoint into the model, this hook passes it through
    :func:`complete_model_state`: published key layouts are renamed, the
    base of LoRA-only checkpoints is restored from the backbone's pretrained
    ``init_cfg``, and any tensor still missing, unexpected or of another
    shape is an error naming the keys.

    Args:
        fresh_keys (Sequence[str]): Key prefixes the config starts fresh,
            e.g. ``['head.final_layer.']`` to fine-tune a checkpoint with a
            different number of landmarks.
    """

    priority = 'VERY_HIGH'

    def __init__(self, fresh_keys=()):
        self.fresh_keys = tuple(fresh_keys)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        source = runner._load_from or 'the runner checkpoint'
        state = complete_model_state(unwrap_model(runner.model), checkpoint, str(source),
                                     self.fresh_keys)
        set_checkpoint_state(checkpoint, state)
