"""What the LoRA backbones (``SapiensViT``, ``Sapiens2ViT``) share.

Adapters go *in place* on the linears of the transformer layers (see
:class:`LoRALinear`), so the base weights keep the names of the published
checkpoints and MMPose's layer-wise lr decay still sees ``layers.N``.
"""
from typing import Dict, Iterable, Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from .lora_linear import LoRALinear
from .sapiens_checkpoint import IncompleteCheckpointError, describe_keys


def count_parameters(params) -> int:
    return sum(p.numel() for p in params)


class LoRABackboneMixin:
    """LoRA insertion, freezing, merging and adapter-only state completion.

    A class using it has ``self.layers`` (the transformer layers) and
    ``self.init_cfg``, and defines:

    - ``_lora_parents(layer)``: the submodules of a layer whose linears may
      be adapted (e.g. ``[layer.attn]``);
    - ``canonical_key(key)``: a checkpoint key of any published layout to
      this backbone's name;
    - ``read_base_state(filename, prefix)``: the backbone tensors of a
      checkpoint file, named and shaped for this backbone;
    - ``load_pretrained(filename, prefix)``: load a published checkpoint
      into this backbone, all or error (what ``init_cfg`` of type
      ``Pretrained`` runs).
    """

    lora_targets_hint = ''

    def _lora_parents(self, layer: nn.Module) -> Iterable[nn.Module]:
        raise NotImplementedError

    def canonical_key(self, key: str) -> str:
        raise NotImplementedError

    def read_base_state(self, filename: str, prefix: Optional[str] = None) -> dict:
        raise NotImplementedError

    def load_pretrained(self, filename: str, prefix: Optional[str] = None) -> dict:
        raise NotImplementedError

    def init_weights(self):
        """Load ``init_cfg=dict(type='Pretrained', checkpoint=...)``, all or error.

        The loading is :meth:`load_pretrained`'s; other ``init_cfg`` types
        behave as in the base class, and without ``init_cfg`` the weights stay
        at the constructor's random init.
        """
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'], prefix=self.init_cfg.get('prefix'))
            self._is_init = True
        else:
            super().init_weights()
        self._log_parameter_count()

    # ------------------------------------------------------------------ LoRA
    def _add_lora(self, lora: dict) -> None:
        unknown = set(lora) - {'targets', 'drop_rate'}
        if unknown:
            raise KeyError(f'Unknown LoRA options {sorted(unknown)}; use targets and drop_rate')
        drop_rate = lora.get('drop_rate', 0.)
        for target, spec in lora.get('targets', {}).items():
            rank = spec.get('rank', 0)
            if rank == 0:
                continue
            found = 0
            for layer in self.layers:
                for parent in self._lora_parents(layer):
                    linear = getattr(parent, target, None)
                    if not isinstance(linear, nn.Linear):
                        continue
                    setattr(parent, target, LoRALinear.from_linear(
                        linear, rank, spec.get('alpha', rank), drop_rate))
                    found += 1
            if not found:
                raise KeyError(f'LoRA target "{target}" is not a linear of the transformer '
                               f'layers{self.lora_targets_hint}')

    def _freeze_all_but_lora(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = '.lora_' in name

    def lora_modules(self) -> Dict[str, LoRALinear]:
        return {n: m for n, m in self.named_modules() if isinstance(m, LoRALinear)}

    @torch.no_grad()
    def merge_lora(self) -> None:
        """Fold every adapter into its base weight; the model becomes a plain ViT."""
        for name, module in self.lora_modules().items():
            parent_name, child = name.rsplit('.', 1)
            setattr(self.get_submodule(parent_name), child, module.merge())
        self.lora_cfg = None

    def _log_parameter_count(self) -> None:
        total = count_parameters(self.parameters())
        trainable = count_parameters(p for p in self.parameters() if p.requires_grad)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {trainable:,} trainable / {total:,} parameters '
            f'({100.0 * trainable / max(total, 1):.3f}%)')

    # ------------------------------------------------- whole-model checkpoints
    def _complete_state_dict_hook(self, state_dict, prefix, *args, **kwargs):
        self.complete_state_dict(state_dict, prefix)

    def complete_state_dict(self, state_dict: dict, prefix: str = '') -> None:
        """Prepare a checkpoint's state dict for this backbone, in place.

        Keys under ``prefix`` get canonical names (see :meth:`canonical_key`).
        A state that holds LoRA adapters but none of the base weights (a
        MedSapiens LoRA release, whose ``LoRAModel`` saves only ``lora_``
        tensors, or an adapter-only checkpoint) gets the base from the
        checkpoint of this backbone's ``init_cfg=dict(type='Pretrained',
        ...)``, so no tensor stays random.

        Args:
            state_dict (dict): The whole model's state, changed in place.
            prefix (str): Where this backbone's keys start (``'backbone.'``).

        Raises:
            IncompleteCheckpointError: The state holds no base weights and
                there is no pretrained ``init_cfg`` that has them all.
        """
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new_key = prefix + self.canonical_key(key[len(prefix):])
            if new_key != key:
                state_dict[new_key] = state_dict.pop(key)
        keys = {k[len(prefix):] for k in state_dict if k.startswith(prefix)}
        own = self.state_dict()
        base_keys = [k for k in own if '.lora_' not in k]
        if not any('.lora_' in k for k in keys) or any(k in keys for k in base_keys):
            return  # a full (or partial plain) state: the caller's strict check decides
        init_cfg = self.init_cfg
        if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
            raise IncompleteCheckpointError(
                f'The checkpoint holds only the LoRA adapters of the backbone, no base '
                f'weights, and the backbone has no init_cfg=dict(type="Pretrained", '
                f'checkpoint=...) to restore them from, so {describe_keys(base_keys)} would '
                f'stay random. mmpose.apis.init_model drops backbone.init_cfg: use '
                f'mmpose_medsapiens.apis.init_landmark_model (as tools/infer.py does), or '
                f'set model.backbone.init_cfg to the base checkpoint.')
        base = self.read_base_state(init_cfg['checkpoint'], init_cfg.get('prefix'))
        absent = [k for k in base_keys if k not in base or base[k].shape != own[k].shape]
        if absent:
            raise IncompleteCheckpointError(
                f'The checkpoint holds only the LoRA adapters of the backbone and the base '
                f'checkpoint {init_cfg["checkpoint"]} lacks (or has other shapes for) '
                f'{describe_keys(absent)}')
        for key in base_keys:
            state_dict[prefix + key] = base[key]
        MMLogger.get_current_instance().info(
            f'The checkpoint holds LoRA adapters only: restored {len(base_keys)} base '
            f'backbone tensors from {init_cfg["checkpoint"]}')
