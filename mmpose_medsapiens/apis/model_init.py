"""Build an inference model whose every tensor comes from a checkpoint."""
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmpose.apis import init_model

from mmpose_medsapiens.models import load_model_checkpoint


def init_landmark_model(config: Union[str, Config], checkpoint: str, device: str = 'cuda:0',
                        cfg_options: Optional[dict] = None) -> nn.Module:
    """``mmpose.apis.init_model`` that keeps the backbone's base checkpoint.

    ``init_model`` drops ``model.backbone.init_cfg`` and loads non-strictly,
    so a checkpoint without base weights (a MedSapiens LoRA release, an
    adapter-only checkpoint) would run on a random backbone. Here the config's
    ``init_cfg`` stays, the base is restored from it when the checkpoint
    lacks it, and a checkpoint that does not fill every tensor of the model
    is an error naming the keys (see :func:`complete_model_state`).

    Args:
        config (str | Config): Model config.
        checkpoint (str): Checkpoint file.
        device (str): Device of the returned model.
        cfg_options (dict, optional): Config overrides.

    Returns:
        nn.Module: The model in eval mode with ``dataset_meta`` (from the
        checkpoint's ``meta`` when it has one, else from the config) and ``cfg``.
    """
    # A non-None cfg_options is what keeps init_model from clearing init_cfg.
    model = init_model(config, None, device='cpu', cfg_options=dict(cfg_options or {}))
    ckpt = load_model_checkpoint(model, checkpoint)
    dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    if dataset_meta is not None:
        model.dataset_meta = dataset_meta
    return model.to(device).eval()
