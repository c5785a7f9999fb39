"""Equal buffers on every rank whenever a checkpoint or a validation can follow."""
from mmengine.dist import all_reduce_params
from mmengine.hooks import SyncBuffersHook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class SyncBuffersEveryIterHook(SyncBuffersHook):
    """mmengine's ``SyncBuffersHook`` that also averages buffers after each train iteration.

    On CUDA mmengine wraps the model in DDP with ``broadcast_buffers=False``,
    so the head's BatchNorm running statistics drift apart per rank. The
    stock hook averages them at the end of an epoch and before validation;
    but an iteration-based run saves its checkpoints in ``after_train_iter``,
    before that, so the file would hold rank 0's statistics while validation
    (and ``save_best``) measured the averaged ones. Averaging after every
    iteration (priority NORMAL, before ``CheckpointHook``'s VERY_LOW) makes
    what is validated, what is saved and what ``tools/test.py`` later measures
    the same model. The cost is one all-reduce of the buffers (a few kB: the
    ViT has none, the head's BatchNorms a few thousand floats) per iteration.
    Outside a distributed run it does nothing.
    """

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.distributed:
            all_reduce_params(runner.model.buffers(), op='mean')
