"""tools/benchmarks/real_hand.py on a tiny copy laid out like the real hand set."""
import json
import os.path as osp
import re
import shutil

import cv2
import numpy as np
import pytest
from conftest import run_tool, start_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]
SCRIPT = 'tools/benchmarks/real_hand.py'

# DonggeJia/SpatialConfiguration-Net: dataset/{train,valid,test}/<id>.jpg;
# Payer's setup/all.csv: "id,x0,y0,...,x36,y36" rows, no header, more ids than images.
SPLITS = dict(train=('3143', '3144', '3146', '3148'), valid=('3206', ), test=('3145', '3150'))


@pytest.fixture
def hand_copy(tmp_path):
    root = tmp_path / 'hand'
    rng = np.random.default_rng(0)
    rows = []
    for folder, ids in SPLITS.items():
        for image_id in ids:
            w, h = 90 + 10 * len(rows), 120
            img = rng.integers(0, 255, (h, w), np.uint8)
            (root / 'dataset' / folder).mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(root / 'dataset' / folder / f'{image_id}.jpg'), img)
            points = rng.uniform(5, [w - 5, h - 5], size=(37, 2))
            rows.append(','.join([image_id] + [f'{v:.0f}' for v in points.ravel()]))
    rows.append(','.join(['9999'] + ['10'] * 74))  # an id this copy has no image for
    (root / 'setup').mkdir()
    (root / 'setup' / 'all.csv').write_text('\n'.join(rows) + '\n')
    return root


def test_quick_run_goes_through_every_step(hand_copy, tmp_path):
    proc = run_tool([SCRIPT, str(hand_copy), '--quick', '--epochs', '3',
                     '--max-train-minutes', '0', '--work-dir', str(tmp_path / 'w'),
                     '--out-dir', str(tmp_path / 'out')])
    assert 'x the box-frame mean-shape baseline' in proc.stdout
    with open(tmp_path / 'out' / 'real_hand.json') as f:
        saved = json.load(f)
    result = saved['results']
    assert result['images'] == dict(train=4, val=1, test=2)
    # The time limit (0 min) stops training after the first epoch.
    assert result['epochs_run'] == 1 and result['stopped_by_time_limit']
    converted = osp.join(result['work_dir'], 'converted')
    assert osp.isfile(osp.join(converted, 'Images', '3150.jpg'))
    assert osp.isfile(osp.join(result['work_dir'], 'cache', 'hand_coco_train_annotations.json'))
    for key in ('model', 'mean_shape_baseline_pixels', 'mean_shape_baseline_box'):
        assert set(result[key]) >= {'MRE_mm', 'SDR_2mm', 'SDR_4mm', 'SDR_10mm'}
    assert result['mre_ratio_to_box_baseline'] == pytest.approx(
        result['model']['MRE_mm'] / result['mean_shape_baseline_box']['MRE_mm'])
    assert result['timings_s']['total_s'] > 0
    assert saved['settings']['config'] == 'configs/cpu_tiny_hand.py'


def test_missing_inputs_are_named(hand_copy, tmp_path):
    no_table = tmp_path / 'no_table'
    shutil.copytree(hand_copy, no_table)
    (no_table / 'setup' / 'all.csv').unlink()
    # The table at the other place it may be, but a split folder misnamed.
    no_valid = tmp_path / 'no_valid'
    shutil.copytree(hand_copy, no_valid)
    shutil.move(str(no_valid / 'setup' / 'all.csv'), str(no_valid / 'all.csv'))
    (no_valid / 'dataset' / 'valid').rename(no_valid / 'dataset' / 'val')
    # Both stop right after the imports, so they run side by side.
    procs = [start_tool([SCRIPT, str(root), '--quick', '--work-dir', str(tmp_path / 'w')])
             for root in (no_table, no_valid)]
    err_table, err_valid = [proc.communicate(timeout=600)[1] for proc in procs]
    code_table, code_valid = [proc.returncode for proc in procs]
    assert code_table == 1 and re.search(r'error: No landmark table in .*setup/all\.csv',
                                         err_table), err_table[-2000:]
    assert code_valid == 1 and re.search(r'error: No val image folder .*dataset/valid',
                                         err_valid), err_valid[-2000:]
