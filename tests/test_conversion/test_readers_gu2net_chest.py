"""The GU2Net chest reader on a tiny fake copy of GU2Net's ``data/chest``."""
import os
import os.path as osp

import numpy as np
import pytest
from converter_test_utils import (assert_release_layout, keypoints_xyv, read_json,
                                  run_converter_tool, write_image)

from mmpose_medsapiens.conversion.readers import gu2net_chest as chest

CHEST_SIZES = {1: (40, 30), 2: (44, 32), 3: (48, 36), 4: (40, 40), 5: (36, 30), 59: (40, 30)}


def _chest_ratios(n):
    rng = np.random.default_rng(n)
    return np.round(rng.uniform(0.05, 0.95, size=(6, 2)), 4)


def _write_chest_label(path, ratios, count='6'):
    lines = [count] + [f'{x} {y}' for x, y in ratios]
    path.write_text('\n'.join(lines) + '\n')


@pytest.fixture
def chest_root(tmp_path):
    root = tmp_path / 'chest'
    (root / 'labels').mkdir(parents=True)
    for n, (w, h) in CHEST_SIZES.items():
        write_image(root / 'pngs' / f'CHNCXR_{n:04d}_0.png', w, h)
        _write_chest_label(root / 'labels' / f'CHNCXR_{n:04d}_0.txt', _chest_ratios(n))
    # Left out as in GU2Net: an abnormal case and a Montgomery image.
    _write_chest_label(root / 'labels' / 'CHNCXR_0002_1.txt', _chest_ratios(7))
    _write_chest_label(root / 'labels' / 'MCUCXR_0001_0.txt', _chest_ratios(8))
    return root


def test_chest_ratios_split_and_exclusions(chest_root, tmp_path):
    out = tmp_path / 'out'
    paths = chest.convert_gu2net_chest(str(chest_root), str(out), split_sizes=(2, 1, 2))
    names = {}
    for split in ('train', 'val', 'test'):
        coco = read_json(paths[split])
        names[split] = [im['file_name'] for im in coco['images']]
        for im, ann in zip(coco['images'], coco['annotations']):
            n = int(im['file_name'][7:11])
            w, h = CHEST_SIZES[n]
            assert (im['width'], im['height']) == (w, h) and 'spacing' not in im
            expected = _chest_ratios(n) * [w, h]  # x = rx * W, y = ry * H
            np.testing.assert_allclose(keypoints_xyv(ann)[:, :2], expected)
    assert names == dict(train=['CHNCXR_0001_0.png', 'CHNCXR_0002_0.png'],
                         val=['CHNCXR_0003_0.png'],
                         test=['CHNCXR_0004_0.png', 'CHNCXR_0005_0.png'])
    # Ids number the sorted selection: unique across the three files.
    assert [im['id'] for s in ('train', 'val', 'test')
            for im in read_json(paths[s])['images']] == [1, 2, 3, 4, 5]
    assert osp.samefile(out / 'Images' / 'CHNCXR_0004_0.png',
                        chest_root / 'pngs' / 'CHNCXR_0004_0.png')
    assert_release_layout(out, 'chest', 'sapiens_lora_chest.py')
    # One value by hand: ratio 0.5 of a 40 px wide image is x = 20.
    assert np.allclose(chest.ratios_to_pixels([[0.5, 0.25]], 40, 30), [[20.0, 7.5]])


def test_chest_default_split_and_exclusion_list(chest_root, tmp_path):
    with pytest.raises(ValueError, match=r'5 labelled .*\(195, 34, 50\) add up to 279'):
        chest.convert_gu2net_chest(str(chest_root), str(tmp_path / 'a'))
    # Without GU2Net's exclusions CHNCXR_0059_0 comes back (6 images).
    chest.convert_gu2net_chest(str(chest_root), str(tmp_path / 'b'), exclude=[],
                               split_sizes=[4, 1, 1])
    coco = read_json(tmp_path / 'b' / 'chest_coco_test_annotations.json')
    assert [im['file_name'] for im in coco['images']] == ['CHNCXR_0059_0.png']


def test_chest_errors_name_the_file(chest_root, tmp_path):
    label = chest_root / 'labels' / 'CHNCXR_0003_0.txt'
    _write_chest_label(label, _chest_ratios(3), count='5')
    with pytest.raises(ValueError, match=r'CHNCXR_0003_0\.txt: first line must be 6'):
        chest.convert_gu2net_chest(str(chest_root), str(tmp_path / 'a'), split_sizes=(2, 1, 2))
    ratios = _chest_ratios(3)
    ratios[2, 1] = 1.2
    _write_chest_label(label, ratios)
    with pytest.raises(ValueError, match=r'CHNCXR_0003_0\.txt, landmark 2: .*outside'):
        chest.read_gu2net_label(str(label))
    _write_chest_label(label, _chest_ratios(3)[:5])
    with pytest.raises(ValueError, match=r'CHNCXR_0003_0\.txt: 5 coordinate lines'):
        chest.read_gu2net_label(str(label))
    label.write_text('6\n' + '0.1,0.2\n' * 6)
    with pytest.raises(ValueError, match=r'CHNCXR_0003_0\.txt, landmark 0'):
        chest.read_gu2net_label(str(label))
    _write_chest_label(label, _chest_ratios(3))
    os.remove(chest_root / 'pngs' / 'CHNCXR_0004_0.png')
    with pytest.raises(FileNotFoundError, match=r'CHNCXR_0004_0\.png'):
        chest.convert_gu2net_chest(str(chest_root), str(tmp_path / 'b'), split_sizes=(2, 1, 2))


@pytest.mark.slow
def test_chest_command_line(chest_root, tmp_path):
    """An empty --exclude keeps every image; --split-sizes takes three counts."""
    run_converter_tool('gu2net_chest_to_coco.py', [chest_root, 'b', '--exclude', '--split-sizes',
                                                   '4', '1', '1'], cwd=tmp_path)
    coco = read_json(tmp_path / 'b' / 'chest_coco_test_annotations.json')
    assert [im['file_name'] for im in coco['images']] == ['CHNCXR_0059_0.png']
