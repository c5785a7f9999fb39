# Generalist on Sapiens2 0.4B: one 88-landmark model fully fine-tuned on all four
# X-ray sets at once, the recipe of medsapiens_generalist.py with the Sapiens2 0.4B
# backbone (same width and depth as Sapiens 0.3B: 1024 channels, 24 layers).
_base_ = ['./medsapiens_generalist.py', './_base_/sapiens2_0.4b.py']

# The Sapiens2 pretrain URL (a local path works too), and the backbone of
# _base_/sapiens2_0.4b.py in place of the recipe's Sapiens one.
pretrained_checkpoint = {{_base_.sapiens2_checkpoint}}
model = dict(backbone={{_base_.sapiens2_full_backbone}})
