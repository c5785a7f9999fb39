# Generalist on Sapiens2 0.4B: one 88-landmark model fully fine-tuned on all four
# X-ray sets at once, the recipe of medsapiens_generalist.py with the Sapiens2 0.4B
# backbone (same width and depth as Sapiens 0.3B: 1024 channels, 24 layers).
_base_ = ['./medsapiens_generalist.py']

# Hugging Face facebook/sapiens2-pretrain-0.4b, file sapiens2_0.4b_pretrain.safetensors
# (reading .safetensors needs the safetensors package).
pretrained_checkpoint = 'checkpoints/sapiens2_0.4b_pretrain.safetensors'

model = dict(
    backbone=dict(
        _delete_=True,
        type='Sapiens2ViT',
        arch='sapiens2_0.4b',
        img_size=(1024, 768),  # (h, w) of input_size
        lora=None,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint)))
