# Hand (Digital Hand Atlas, 37 landmarks): MedSapiens + LoRA.
# The backbone starts from the generalist
# MedSapiens model (trained on all four X-ray sets); LoRA and head are new.
_base_ = ['./sapiens_lora_hand.py']

pretrained_checkpoint = 'checkpoints/medsapiens_generalist.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)))
