"""``tools/test.py --dump`` then the offline evaluator: the same numbers, for every class."""
import json
import math

import pytest
import torch
from conftest import derived_config, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_medsapiens.evaluation.offline_evaluation import evaluate_predictions
from mmpose_medsapiens.testing import write_blank_landmark_set

pytestmark = pytest.mark.slow

# class -> (landmarks, per-image spacing written into the file or None)
CLASSES = {
    'ISBI2015HeadDataset': (19, None),
    'HandXrayDataset': (37, None),
    'ChestXrayDataset': (6, None),
    'LegXrayDataset': (26, [0.15, 0.15]),
    'DentalCBCTDataset': (16, None),
    'AarizDataset': (29, [0.1, 0.1]),
    'CLDetection2023Dataset': (38, [0.1, 0.1]),
    'EchoNetLVHDataset': (4, [0.2, 0.2]),
}
# The clinical measurements each class's metric must report.
MEASURED = {'ISBI2015HeadDataset': ('SNA', 'SNB', 'ANB', 'FMA', 'PFH', 'AFH'),
            'AarizDataset': ('SNA', 'SNB', 'ANB'), 'EchoNetLVHDataset': ('IVSd', 'LVIDd', 'LVPWd')}


def _assert_same_metrics(got, expected):
    """Exactly the same keys and values; a measurement an untrained model leaves
    undefined (coinciding predictions) is NaN in both."""
    got = dict(got)
    assert got.keys() == expected.keys()
    assert all(got[k] == v or (math.isnan(got[k]) and math.isnan(v))
               for k, v in expected.items()), (got, expected)


@pytest.mark.parametrize('dataset_type', list(CLASSES))
def test_offline_metrics_equal_test_tool_metrics(dataset_type, tiny_config, tmp_path):
    num_keypoints, spacing = CLASSES[dataset_type]
    data = tmp_path / 'data'
    write_blank_landmark_set(data, num_keypoints, [(64, 80), (70, 80), (64, 90), (60, 80)],
                             spacing=spacing)
    dataset = dict(type=dataset_type, data_root=str(data), ann_file='ann.json',
                   data_prefix=dict(img='Images/'))
    # The tiny config's evaluator states radii; the class's protocol ones apply here.
    config = derived_config(
        tiny_config, tmp_path / 'cfg.py', model=dict(head=dict(out_channels=num_keypoints)),
        train_dataloader=dict(dataset=dataset), val_dataloader=dict(dataset=dataset),
        test_dataloader=dict(dataset=dataset),
        test_evaluator=dict(_delete_=True, type='MedicalLandmarkMetric'))
    # A randomly initialised model: its errors are large, uneven and fixed.
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)

    online, dump = tmp_path / 'metrics.json', tmp_path / 'preds.pkl'
    run_tool(['tools/test.py', config, ckpt, '--work-dir', str(tmp_path / 'w'), '--out',
              str(online), '--dump', str(dump)])
    with open(online) as f:
        expected = json.load(f)
    assert any(k.startswith('SDR_') for k in expected)
    assert sorted(k.split('_MAE_')[0] for k in expected if '_MAE_' in k and 'STD' not in k) == \
        sorted(MEASURED.get(dataset_type, ()))

    from_config = evaluate_predictions(str(dump), str(tmp_path / 'a'), config=config)
    from_dump = evaluate_predictions(str(dump), str(tmp_path / 'b'))
    from_ann = evaluate_predictions(str(dump), str(tmp_path / 'c'),
                                    ann_file=str(data / 'ann.json'), dataset_type=dataset_type,
                                    data_root=str(data))
    for result in (from_config, from_dump, from_ann):
        _assert_same_metrics(result['metrics'], expected)
    if dataset_type != 'ISBI2015HeadDataset':
        return
    # An evaluator with its own radii: --config takes them, as tools/test.py does.
    own = derived_config(config, tmp_path / 'own.py', test_evaluator=dict(
        type='MedicalLandmarkMetric', radii=(1.5, 30), inclusive=True))
    online_own = tmp_path / 'metrics_own.json'
    run_tool(['tools/test.py', own, ckpt, '--work-dir', str(tmp_path / 'w2'), '--out',
              str(online_own)])
    with open(online_own) as f:
        expected_own = json.load(f)
    _assert_same_metrics(evaluate_predictions(str(dump), str(tmp_path / 'd'),
                                              config=own)['metrics'], expected_own)
