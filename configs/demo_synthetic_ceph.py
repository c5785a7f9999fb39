# Tiny Sapiens-architecture ViT + LoRA + HeatmapHead on the synthetic
# cephalogram-like set drawn by `tools/demo.py`: the X-ray recipe's model and
# data path (LoadMedicalImage, UDP heatmaps, MRE/SDR + EPE) at a size that
# trains in minutes on a laptop CPU, without any download. What differs from
# the recipe, and why, is below.
_base_ = ['./_base_/medsapiens_xray.py']

# ----------------------------------------------------------------- settings
data_root = 'work_dirs/demo/data/'  # written by tools/demo.py
num_keypoints = 10
input_size = (128, 160)  # (w, h), the aspect ratio of the 256x320 images
heatmap_size = (32, 40)  # (w, h) = input / 4, as in Sapiens
embed_dims = 128
max_epochs = 30
batch_size = 16

# -------------------------------------------------------------------- model
# Trained from scratch (no pretrained init_cfg), so wider LoRA and no dropout.
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=2)
model = dict(
    # Restated whole (_delete_) so that it has no init_cfg key at all: a
    # config built on this one may add a Pretrained init_cfg.
    backbone=dict(
        _delete_=True,
        type='SapiensViT',
        arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4, feedforward_channels=256),
        img_size=(input_size[1], input_size[0]),  # (h, w)
        drop_path_rate=0.0,
        lora=dict(targets=dict(qkv=dict(rank=16, alpha=16), proj=dict(rank=16, alpha=16)),
                  drop_rate=0.0)),
    head=dict(
        in_channels=embed_dims,
        out_channels=num_keypoints,
        deconv_out_channels=(64, 64),
        conv_out_channels=(64, ),
        conv_kernel_sizes=(1, ),
        decoder=codec),
    test_cfg=dict(flip_test=False))

# --------------------------------------------------------------------- data
# The synthetic images are drawn edge to edge around the skull: whole-image
# boxes without the recipe's 1.25 margin, milder random boxes, no flips.
train_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.9, 1.1),
         rotate_factor=10.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys={{_base_.meta_keys}}),
]
val_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs', meta_keys={{_base_.meta_keys}}),
]
# tools/demo.py writes the release layout every converted set has:
# Images/ + synthetic_ceph_coco_<split>_annotations.json.
dataset_type = 'SyntheticCephDataset'
loader = dict(num_workers=0, persistent_workers=False)
dataset = dict(type=dataset_type, data_root=data_root, data_prefix=dict(img='Images/'))
train_dataloader = dict(
    batch_size=batch_size, **loader,
    dataset=dict(**dataset, ann_file='synthetic_ceph_coco_train_annotations.json',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, **loader,
    dataset=dict(**dataset, ann_file='synthetic_ceph_coco_val_annotations.json',
                 pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=batch_size, **loader,
    dataset=dict(**dataset, ann_file='synthetic_ceph_coco_test_annotations.json',
                 pipeline=val_pipeline))

# ----------------------------------------------------------------- schedule
# A short from-scratch schedule: no layer decay (4 layers), cosine decay.
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, T_max=max_epochs,
         eta_min_ratio=0.02, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='MRE_mm'))
