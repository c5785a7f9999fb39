# Dental CBCT slices (16 landmarks, 0.18 mm/px), k-shot fine-tuning from the
# generalist MedSapiens model: LoRA + a new head on `num_shots` training images.
_base_ = ['./_base_/medsapiens_xray.py']

data_root = 'data/teeth/'
dataset_type = 'DentalCBCTDataset'
num_shots = 10
shot_seed = 0
pretrained_checkpoint = 'checkpoints/medsapiens_generalist.pth'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=16))
train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='teeth_coco_train_annotations.json',
    num_shots=num_shots, shot_seed=shot_seed))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='teeth_coco_val_annotations.json'))
test_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='teeth_coco_test_annotations.json'))
