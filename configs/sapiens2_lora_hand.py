# Hand (Digital Hand Atlas, 37 landmarks): Sapiens2 0.4B pretrain + fresh LoRA + HeatmapHead.
# The recipe of sapiens_lora_hand.py: Sapiens2 0.4B has the width and depth of
# Sapiens 0.3B (1024 channels, 24 layers), so only the backbone and its checkpoint change.
_base_ = ['./sapiens_lora_hand.py', './_base_/sapiens2_0.4b.py']

# The Sapiens2 pretrain URL (a local path works too), and the backbone of
# _base_/sapiens2_0.4b.py in place of the recipe's Sapiens one.
pretrained_checkpoint = {{_base_.sapiens2_checkpoint}}
model = dict(backbone={{_base_.sapiens2_backbone}})
