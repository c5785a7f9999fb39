# Generalist on Sapiens2 0.4B: one 88-landmark model fully fine-tuned on all four
# X-ray sets at once, the recipe of medsapiens_generalist.py with the Sapiens2 0.4B
# backbone (same width and depth as Sapiens 0.3B: 1024 channels, 24 layers).
_base_ = ['./medsapiens_generalist.py']

# The official file (Hugging Face facebook/sapiens2-pretrain-0.4b), downloaded once into the
# weights cache (Sapiens2 License; if Hugging Face asks you to accept it, export HF_TOKEN).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens2-pretrain-0.4b/resolve/main/'
                         'sapiens2_0.4b_pretrain.safetensors')

model = dict(
    backbone=dict(
        _delete_=True,
        type='Sapiens2ViT',
        arch='sapiens2_0.4b',
        img_size=(1024, 768),  # (h, w) of input_size
        lora=None,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint)))
