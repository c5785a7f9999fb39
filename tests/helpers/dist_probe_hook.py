"""A hook that records each rank's view of the process group."""
import json
import os.path as osp

from mmengine.hooks import Hook

from mmpose.registry import HOOKS


@HOOKS.register_module()
class DistProbeHook(Hook):
    """Write ``rank<r>.json`` with rank, world size and iterations trained."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.iters = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters += 1

    def after_run(self, runner):
        with open(osp.join(self.out_dir, f'rank{runner.rank}.json'), 'w') as f:
            json.dump(dict(rank=runner.rank, world_size=runner.world_size, iters=self.iters,
                           wrapper=type(runner.model).__name__), f)
