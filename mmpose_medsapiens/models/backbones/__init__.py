from .lora_linear import LoRALinear
from .sapiens_checkpoint import (canonical_backbone_key, extract_backbone_state,
                                 load_backbone_checkpoint)
from .sapiens_vit import SAPIENS_ARCHS, SapiensViT, infer_pos_embed_grid

__all__ = [
    'LoRALinear', 'SAPIENS_ARCHS', 'SapiensViT', 'canonical_backbone_key',
    'extract_backbone_state', 'infer_pos_embed_grid', 'load_backbone_checkpoint'
]
