# Generalist MedSapiens with balanced batches: every batch holds one image of each
# X-ray set (MMPose's MultiSourceSampler), so the small sets (chest, legs) weigh as
# much as the large hand set. An epoch still has as many images as the four sets.
_base_ = ['./medsapiens_generalist.py']

# MultiSourceSampler gives each set int(batch_size * ratio / sum(ratios)) images per
# batch and never finishes a batch in which a set gets 0, so batch_size must be at
# least the number of sets (4) for equal ratios.
batch_size = 4
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=batch_size,
                 source_ratio=[1, 1, 1, 1], shuffle=True))
# 4 images x 4 GPUs; use --auto-scale-lr on other layouts.
auto_scale_lr = dict(base_batch_size=16)
