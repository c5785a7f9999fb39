"""Log how many parameters fine-tuning actually trains."""
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from .adapter_checkpoint_hook import unwrap_model


def parameter_counts(model) -> dict:
    """``{part: (trainable, total)}`` for the model's children and the whole."""
    counts = {}
    for name, child in model.named_children():
        params = list(child.parameters())
        if params:
            counts[name] = (sum(p.numel() for p in params if p.requires_grad),
                            sum(p.numel() for p in params))
    params = list(model.parameters())
    counts['total'] = (sum(p.numel() for p in params if p.requires_grad),
                       sum(p.numel() for p in params))
    return counts


@HOOKS.register_module()
class ParameterCountHook(Hook):
    """Log trainable vs total parameters of backbone, head and model at start."""

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        lines = ['trainable / total parameters:']
        for part, (trainable, total) in parameter_counts(model).items():
            lines.append(f'  {part:<10s} {trainable:>14,} / {total:>14,} '
                         f'({100.0 * trainable / max(total, 1):7.3f}%)')
        runner.logger.info('\n'.join(lines))
