"""Load whole-model checkpoints so that no tensor of the model stays unloaded."""
import re
from collections import OrderedDict
from typing import Sequence

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader

from .backbones import IncompleteCheckpointError, LoRABackboneMixin, describe_keys
from .backbones.sapiens_checkpoint import fit_problems


def complete_model_state(model: nn.Module, checkpoint: dict, source: str,
                         fresh_keys: Sequence[str] = ()) -> 'OrderedDict':
    """The checkpoint's state dict, checked to fill every tensor of ``model``.

    A ``SapiensViT`` or ``Sapiens2ViT`` backbone first renames published key
    layouts and restores its base weights into states that hold only LoRA
    adapters (see :meth:`LoRABackboneMixin.complete_state_dict`). After that,
    every tensor of the model must be in the state with its shape, and every
    tensor of the state must be one of the model's: anything else is an
    error, because a non-strict load would leave those tensors at their
    random init (e.g. a MedSapiens head with two 1x1 convs loaded into a head
    with one).

    Args:
        model (nn.Module): The model to load into.
        checkpoint (dict): A loaded checkpoint, flat or ``{state_dict, ...}``.
        source (str): The checkpoint's file name, for messages.
        fresh_keys (Sequence[str]): Key prefixes the config starts fresh
            (e.g. ``'head.final_layer.'`` for a new landmark count): their
            tensors keep the model's init and are not required.

    Raises:
        IncompleteCheckpointError: Names the missing, unexpected and
            other-shaped keys.
    """
    state = checkpoint.get('state_dict', checkpoint)
    state = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state.items())
    backbone = getattr(model, 'backbone', None)
    if isinstance(backbone, LoRABackboneMixin):
        backbone.complete_state_dict(state, 'backbone.')
    own = model.state_dict()
    fresh = tuple(fresh_keys)
    for key in [k for k in state if k.startswith(fresh)]:
        if key not in own or state[key].shape != own[key].shape:
            del state[key]
    problems = fit_problems(own, state,
                            ('missing', 'not in the model', 'other shape (checkpoint vs model)'),
                            optional=lambda key: key.startswith(fresh))
    if problems:
        raise IncompleteCheckpointError(
            f'Checkpoint {source} does not fit the model ({"; ".join(problems)}); loading it '
            f'would leave these tensors at their init. Check that the config builds the '
            f'model the checkpoint was trained with (head layers, landmark count, LoRA).')
    started_fresh = [k for k in own if k not in state]
    if started_fresh:
        MMLogger.get_current_instance().info(
            f'{source}: started fresh as configured: {describe_keys(started_fresh)}')
    return state


def load_model_checkpoint(model: nn.Module, filename: str, map_location='cpu',
                          fresh_keys: Sequence[str] = ()) -> dict:
    """Load ``filename`` into ``model`` via :func:`complete_model_state`.

    Returns:
        dict: The loaded checkpoint (``meta`` included).
    """
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    state = complete_model_state(model, checkpoint, filename, fresh_keys)
    model.load_state_dict(state, strict=not fresh_keys)
    return checkpoint


def set_checkpoint_state(checkpoint: dict, state: dict) -> None:
    """Put ``state`` where the runner reads a checkpoint's weights from."""
    if 'state_dict' in checkpoint:
        checkpoint['state_dict'] = state
    else:
        checkpoint.clear()
        checkpoint.update(state)
