# Chest (Shenzhen, GU2Net labels, 6 landmarks): Sapiens2 0.4B pretrain + fresh LoRA + HeatmapHead.
# The recipe of sapiens_lora_chest.py: Sapiens2 0.4B has the width and depth of
# Sapiens 0.3B (1024 channels, 24 layers), so only the backbone and its checkpoint change.
_base_ = ['./sapiens_lora_chest.py']

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
        # The MedSapiens adapters with the fused qkv split: rank 4 on each of wq, wk, wv.
        lora=dict(targets=dict(wq=dict(rank=4, alpha=4), wk=dict(rank=4, alpha=4),
                               wv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
                  drop_rate=0.1),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint)))
