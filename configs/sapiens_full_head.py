# Baseline: full fine-tuning of Sapiens 0.3B (no LoRA) on the ISBI 2015 head set.
_base_ = ['./sapiens_lora_head.py']

model = dict(backbone=dict(lora=None))
