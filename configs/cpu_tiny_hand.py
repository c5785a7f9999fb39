# Hand (Digital Hand Atlas, 37 landmarks) at a size that trains from scratch on a
# 2-core CPU: the X-ray recipe's data path (LoadMedicalImage, whole-image box
# with padding 1.25, UDP heatmaps, flip test, SDR/MRE with the wrist rule) with
# a small Sapiens-architecture ViT, no pretrained weights and no LoRA, milder
# random boxes and a short cosine schedule. Used by
# tools/benchmarks/real_hand.py to check that the real-radiograph path learns;
# it says nothing about Sapiens' accuracy.
_base_ = ['./sapiens_lora_hand.py']

input_size = (192, 256)  # (w, h)
heatmap_size = (48, 64)  # (w, h) = input / 4
embed_dims = 192
num_layers = 6
max_epochs = 300
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=2)

model = dict(
    backbone=dict(
        _delete_=True,
        type='SapiensViT',
        arch=dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=6,
                  feedforward_channels=4 * embed_dims),
        patch_size=16,
        patch_cfg=dict(padding=0),
        img_size=(input_size[1], input_size[0]),  # (h, w)
        drop_path_rate=0.0,
        lora=None),
    head=dict(in_channels=embed_dims, deconv_out_channels=(128, 128), deconv_kernel_sizes=(4, 4),
              conv_out_channels=(128, ), conv_kernel_sizes=(1, ), decoder=codec))

train_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.8, 1.2),
         rotate_factor=20.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PhotometricDistortion'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys={{_base_.meta_keys}}),
]
val_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=True,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=True,
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=max_epochs, val_interval=50)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, T_max=max_epochs,
         eta_min_ratio=0.01, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=50, max_keep_ckpts=1))
