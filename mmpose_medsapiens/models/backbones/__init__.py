from .lora_linear import LoRALinear
from .sapiens_vit import SAPIENS_ARCHS, SapiensViT, infer_pos_embed_grid

__all__ = ['LoRALinear', 'SAPIENS_ARCHS', 'SapiensViT', 'infer_pos_embed_grid']
