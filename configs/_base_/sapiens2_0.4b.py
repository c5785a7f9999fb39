# Sapiens2 0.4B in place of Sapiens 0.3B: same width and depth (1024 channels, 24 layers),
# so a Sapiens 0.3B recipe keeps its head and optimizer and only the backbone changes.
# A config lists this file after its Sapiens recipe and sets
# model = dict(backbone={{_base_.sapiens2_backbone}}) (or sapiens2_full_backbone).

# The official file (Hugging Face facebook/sapiens2-pretrain-0.4b), downloaded once into the
# weights cache (Sapiens2 License; if Hugging Face asks you to accept it, export HF_TOKEN).
sapiens2_checkpoint = ('https://huggingface.co/facebook/sapiens2-pretrain-0.4b/resolve/main/'
                       'sapiens2_0.4b_pretrain.safetensors')
sapiens2_backbone = dict(
    _delete_=True,  # replaces the Sapiens backbone, arguments and all
    type='Sapiens2ViT',
    arch='sapiens2_0.4b',
    img_size=(1024, 768),  # (h, w) of input_size
    # The MedSapiens adapters with the fused qkv split: rank 4 on each of wq, wk, wv.
    lora=dict(targets=dict(wq=dict(rank=4, alpha=4), wk=dict(rank=4, alpha=4),
                           wv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
              drop_rate=0.1),
    init_cfg=dict(type='Pretrained', checkpoint=sapiens2_checkpoint))
# Full fine-tuning (the generalist): no adapters, every weight trains.
sapiens2_full_backbone = dict(sapiens2_backbone, lora=None)
