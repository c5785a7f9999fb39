# Generalist MedSapiens: one 88-landmark model (19 head, 6 chest, 37 hand, 26 leg
# channels) fully fine-tuned from Sapiens 0.3B on all four X-ray sets at once, as
# MedSapiens' sapiens_pose/med_sapien config trains it (plain VisionTransformer,
# no LoRA). Absent landmarks get zero target weight; validation reports every
# metric per data set ("head/MRE_mm", "chest/MRE_px@512", ...) and EPE over all.
_base_ = ['./_base_/medsapiens_xray.py']

data_root = 'data/medsapiens/'
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')
sources = [('ISBI2015HeadDataset', 'head'), ('ChestXrayDataset', 'chest'),
           ('HandXrayDataset', 'hand'), ('LegXrayDataset', 'leg')]

model = dict(
    backbone=dict(lora=None, init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=88))
train_dataloader = dict(dataset=dict(
    _delete_=True,
    type='MedSapiensGeneralistDataset',
    datasets=[
        dict(type=cls, data_root=data_root, ann_file=f'{prefix}_coco_train_annotations.json',
             data_prefix=dict(img='Images/'))
        for cls, prefix in sources
    ],
    pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(
    _delete_=True,
    type='MedSapiensGeneralistDataset',
    datasets=[
        dict(type=cls, data_root=data_root, ann_file=f'{prefix}_coco_val_annotations.json',
             data_prefix=dict(img='Images/'), test_mode=True)
        for cls, prefix in sources
    ],
    test_mode=True,
    pipeline={{_base_.val_pipeline}}))
test_dataloader = dict(dataset=dict(
    _delete_=True,
    type='MedSapiensGeneralistDataset',
    datasets=[
        dict(type=cls, data_root=data_root, ann_file=f'{prefix}_coco_test_annotations.json',
             data_prefix=dict(img='Images/'), test_mode=True)
        for cls, prefix in sources
    ],
    test_mode=True,
    pipeline={{_base_.val_pipeline}}))
