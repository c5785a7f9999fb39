"""A tiny UDP model fitted to the synthetic training images, for parity tests.

Parity of the exported decoding needs heatmaps with real peaks: on a random
model's flat heatmaps the DARK step divides by a near-zero curvature and
float rounding alone moves landmarks by pixels. A few hundred Adam steps on
16 images (no augmentation) give peaked heatmaps in about a minute of CPU.
"""
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

UDP_CONFIG = """
_base_ = [{base!r}]
input_size = (64, 80)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(16, 20), sigma=2)
model = dict(head=dict(decoder=dict(_delete_=True, **codec)),
             test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))
val_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs', meta_keys={{{{_base_.meta_keys}}}}),
]
fit_pipeline = val_pipeline[:3] + [dict(type='GenerateTarget', encoder=codec), val_pipeline[3]]
train_dataloader = dict(dataset=dict(pipeline=fit_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
"""


def write_udp_config(tiny_config, path):
    """The tiny test config with UDP heatmaps and the flip test, at ``path``."""
    path.write_text(UDP_CONFIG.format(base=tiny_config))
    return str(path)


def fit_tiny_model(config, checkpoint, steps=300, seed=0):
    """Fit the config's model to its 16 training images; save a checkpoint."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    loss = torch.tensor(float('nan'))
    for _ in range(steps):
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return float(loss.detach())
