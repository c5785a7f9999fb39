from .lora_backbone import LoRABackboneMixin
from .lora_linear import LoRALinear
from .sapiens2 import SAPIENS2_ARCHS, SAPIENS2_DEFAULT_LORA, Sapiens2ViT
from .sapiens2_checkpoint import (check_sapiens2_state, extract_sapiens2_state,
                                  load_sapiens2_checkpoint, load_state_file, read_sapiens2_state,
                                  sapiens2_key)
from .sapiens_checkpoint import (IncompleteCheckpointError, canonical_backbone_key, describe_keys,
                                 extract_backbone_state, load_backbone_checkpoint,
                                 read_backbone_state)
from .sapiens_vit import SAPIENS_ARCHS, SapiensViT, infer_pos_embed_grid

__all__ = [
    'IncompleteCheckpointError', 'LoRABackboneMixin', 'LoRALinear', 'SAPIENS2_ARCHS',
    'SAPIENS2_DEFAULT_LORA', 'SAPIENS_ARCHS', 'Sapiens2ViT', 'SapiensViT',
    'canonical_backbone_key', 'check_sapiens2_state', 'describe_keys', 'extract_backbone_state',
    'extract_sapiens2_state', 'infer_pos_embed_grid', 'load_backbone_checkpoint',
    'load_sapiens2_checkpoint', 'load_state_file', 'read_backbone_state', 'read_sapiens2_state',
    'sapiens2_key'
]
