from .lora_linear import LoRALinear
from .sapiens_checkpoint import (IncompleteCheckpointError, canonical_backbone_key,
                                 describe_keys, extract_backbone_state, load_backbone_checkpoint,
                                 read_backbone_state)
from .sapiens_vit import SAPIENS_ARCHS, SapiensViT, infer_pos_embed_grid

__all__ = [
    'IncompleteCheckpointError', 'LoRALinear', 'SAPIENS_ARCHS', 'SapiensViT',
    'canonical_backbone_key', 'describe_keys', 'extract_backbone_state', 'infer_pos_embed_grid',
    'load_backbone_checkpoint', 'read_backbone_state'
]
