"""A hook that records each rank's view of the process group and of its buffers."""
import json
import os.path as osp

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS


def float_buffers(model):
    """The model's floating-point buffers (BatchNorm statistics) as lists."""
    model = model.module if is_model_wrapper(model) else model
    return {name: buf.detach().cpu().flatten().tolist() for name, buf in model.named_buffers()
            if buf.is_floating_point()}


@HOOKS.register_module()
class DistProbeHook(Hook):
    """Write ``rank<r>.json``: rank, world size, iterations, the wrapper and the buffers.

    ``val_buffers`` are the buffers the last validation ran with,
    ``final_buffers`` those at the end of the run.
    """

    priority = 'LOWEST'

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.iters = 0
        self.val_buffers = None

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters += 1

    def after_val_epoch(self, runner, metrics=None):
        self.val_buffers = float_buffers(runner.model)

    def after_run(self, runner):
        with open(osp.join(self.out_dir, f'rank{runner.rank}.json'), 'w') as f:
            json.dump(dict(rank=runner.rank, world_size=runner.world_size, iters=self.iters,
                           wrapper=type(runner.model).__name__,
                           broadcast_buffers=getattr(runner.model, 'broadcast_buffers', None),
                           val_buffers=self.val_buffers,
                           final_buffers=float_buffers(runner.model)), f)
