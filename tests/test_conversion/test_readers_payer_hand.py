"""The Payer hand reader on a tiny fake copy of Payer's setup and of a folder-split copy."""
import os
import os.path as osp

import numpy as np
import pytest
from converter_test_utils import (assert_release_layout, keypoints_xyv, read_json,
                                  run_converter_tool, write_image)

from mmpose_medsapiens.conversion.readers import payer_hand as hand


def write_mha_header_only_size(path, width, height):
    pixels = np.zeros((height, width), np.uint8)
    header = f'NDims = 3\nDimSize = {width} {height} 1\nElementType = MET_UCHAR\n' \
             'ElementDataFile = LOCAL\n'
    with open(path, 'wb') as f:
        f.write(header.encode() + pixels.tobytes())


HAND_IDS = ('3128', '3129', '3130', '3131')
HAND_SIZES = {'3128': (50, 70), '3129': (52, 66), '3130': (40, 60), '3131': (44, 64)}
HAND_SPLITS = {1: (['3128', '3129'], ['3130']), 2: (['3130', '3131'], ['3128']),
               3: (['3128', '3131'], ['3129', '3130'])}


def _hand_coords(image_id):
    rng = np.random.default_rng(int(image_id))
    return np.round(rng.uniform(1, 38, size=(37, 2)), 2)


@pytest.fixture
def hand_root(tmp_path):
    root = tmp_path / 'hand'
    (root / 'setup').mkdir(parents=True)
    rows = ['id,' + ','.join(f'x{k},y{k}' for k in range(37))]  # header row
    for image_id in HAND_IDS:
        values = [f'{v:g}' for v in _hand_coords(image_id).ravel()]
        if image_id == '3131':
            values[2 * 36:] = ['', '']  # last landmark absent
        rows.append(','.join([image_id] + values))
    (root / 'setup' / 'all.csv').write_text('\n'.join(rows) + '\n')
    for cv_set, (train, test) in HAND_SPLITS.items():
        folder = root / 'setup' / 'cv' / f'set{cv_set}'
        folder.mkdir(parents=True)
        (folder / 'train.txt').write_text('\n'.join(train) + '\n')
        (folder / 'test.txt').write_text('\n'.join(test) + '\n\n')
    for image_id, (w, h) in HAND_SIZES.items():
        if image_id == '3130':
            os.makedirs(root / 'images', exist_ok=True)
            write_mha_header_only_size(root / 'images' / f'{image_id}.mha', w, h)
        else:
            write_image(root / 'images' / f'{image_id}.jpg', w, h)
    return root


def test_hand_one_cv_set_in_the_hand_configs_layout(hand_root, tmp_path):
    out = tmp_path / 'out'
    paths = hand.convert_payer_hand(str(hand_root), str(out), cv_set=3, val_count=1)
    assert sorted(os.listdir(out)) == ['Images'] + sorted(
        f'hand_coco_{s}_annotations.json' for s in ('train', 'val', 'test'))
    train, test = HAND_SPLITS[3]
    ids = {split: [str(im['id']) for im in read_json(path)['images']]
           for split, path in paths.items()}
    assert sorted(ids['train'] + ids['val']) == sorted(train) and len(ids['val']) == 1
    assert ids['test'] == test
    for split, path in paths.items():
        coco = read_json(path)
        assert coco['info']['cv_set'] == 3 and coco['info']['split'] == split
        for im, ann in zip(coco['images'], coco['annotations']):
            image_id = str(im['id'])
            ext = 'mha' if image_id == '3130' else 'jpg'
            assert im['file_name'] == f'{image_id}.{ext}'
            assert osp.samefile(out / 'Images' / im['file_name'],
                                hand_root / 'images' / im['file_name'])
            assert (im['width'], im['height']) == HAND_SIZES[image_id]
            assert 'spacing' not in im
            xyv = keypoints_xyv(ann)
            expected = _hand_coords(image_id)
            if image_id == '3131':
                assert xyv[36].tolist() == [0, 0, 0] and ann['num_keypoints'] == 36
                xyv, expected = xyv[:36], expected[:36]
            np.testing.assert_allclose(xyv[:, :2], expected)
            assert (xyv[:, 2] == 2).all()
    datasets = assert_release_layout(out, 'hand', 'sapiens_lora_hand.py')
    assert datasets['test'].get_data_info(0)['calibration']['normalize']  # the wrist rule


def _write_folder_copy(tmp_path):
    """A copy split into train/valid/test image folders, coordinates in all.csv."""
    copy = tmp_path / 'copy'
    for folder, ids in (('train', ('3128', '3129')), ('valid', ('3131', )), ('test', ('3130', ))):
        for image_id in ids:
            write_image(copy / folder / f'{image_id}.jpg', *HAND_SIZES[image_id])
    return copy


def _folder_copy_ids(out):
    return {s: [im['source_id'] for im in read_json(out / f'hand_coco_{s}_annotations.json')[
        'images']] for s in ('train', 'val', 'test')}


def test_hand_split_folders_as_in_copies_split_into_folders(hand_root, tmp_path):
    copy = _write_folder_copy(tmp_path)
    out = tmp_path / 'out'
    report = {}
    paths = hand.convert_payer_hand(str(hand_root), str(out), split_folders=dict(
        train=str(copy / 'train'), val=str(copy / 'valid'), test=str(copy / 'test')),
        report=report)
    printed = '\n'.join(hand.payer_hand_summary(paths, report))
    assert 'test: ' in printed
    ids = _folder_copy_ids(out)
    assert ids == dict(train=['3128', '3129'], val=['3131'], test=['3130'])
    test = read_json(out / 'hand_coco_test_annotations.json')
    assert test['info']['split_folder'] == str(copy / 'test')
    assert osp.samefile(out / 'Images' / '3130.jpg', copy / 'test' / '3130.jpg')
    assert_release_layout(out, 'hand', 'sapiens_lora_hand.py')
    # Without a val folder the validation split is a seeded draw from train.
    paths = hand.convert_payer_hand(str(hand_root), str(tmp_path / 'drawn'),
                                    split_folders=dict(train=str(copy / 'train'),
                                                       test=str(copy / 'test')))
    assert len(read_json(paths['val'])['images']) == 1
    assert len(read_json(paths['train'])['images']) == 1
    # An image of an id that all.csv does not have is named.
    write_image(copy / 'test' / '4444.jpg', 20, 20)
    with pytest.raises(ValueError, match=r'test: id\(s\) 4444 are not in .*all\.csv'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(train=str(copy / 'train'),
                                                   test=str(copy / 'test')))
    with pytest.raises(ValueError,
                       match=r'3128, 3129 are in both .*train \(train\) and .*\(test\)'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(train=str(copy / 'train'),
                                                   test=str(copy / 'train')))
    with pytest.raises(ValueError, match='train=DIR'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(test=str(copy / 'test')))


def _add_cv_rand_split(hand_root):
    """Payer's setup also has cv_reduced/ and cv_rand/<n>/<k>/ next to cv/; ids 7272 and
    5347 of this one have coordinates but no image."""
    folder = hand_root / 'setup' / 'cv_rand' / '10' / '1' / 'set1'
    folder.mkdir(parents=True)
    (folder / 'train.txt').write_text('3129\n7272\n3128\n3131\n')
    (folder / 'test.txt').write_text('3130\n5347\n')
    rows = (hand_root / 'setup' / 'all.csv').read_text().splitlines()
    extra = [','.join([i] + [f'{v:g}' for v in _hand_coords(i).ravel()]) for i in ('7272', '5347')]
    (hand_root / 'setup' / 'all.csv').write_text('\n'.join(rows + extra) + '\n')


def _assert_cv_rand_output(out):
    train = read_json(out / 'hand_coco_train_annotations.json')
    val = read_json(out / 'hand_coco_val_annotations.json')
    kept = [img['source_id'] for img in train['images']]
    assert sorted(kept + [img['source_id'] for img in val['images']]) == ['3128', '3129', '3131']
    assert train['info']['skipped_ids_without_image'] == ['7272']
    assert train['info']['split_dir'] == 'cv_rand/10/1'
    for img, ann in zip(train['images'], train['annotations']):  # coordinates stay with their id
        np.testing.assert_allclose(np.reshape(ann['keypoints'], (-1, 3))[:, :2],
                                   _hand_coords(img['source_id']), equal_nan=True)


def test_hand_split_folder_and_missing_images(hand_root, tmp_path):
    _add_cv_rand_split(hand_root)
    # Without the option the first id without an image stops the conversion, named.
    with pytest.raises(FileNotFoundError,
                       match=r'No image for id 7272:.*set1.train\.txt.*--skip-missing-images'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), split_dir='cv_rand/10/1')
    assert not (tmp_path / 'a').exists()
    with pytest.raises(FileNotFoundError, match=r'setup/cv_reduced does not exist.*cv, cv_rand'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), split_dir='cv_reduced')
    out = tmp_path / 'b'
    report = {}
    paths = hand.convert_payer_hand(str(hand_root), str(out), cv_set=1, split_dir='cv_rand/10/1',
                                    skip_missing_images=True, val_count=1, report=report)
    printed = '\n'.join(hand.payer_hand_summary(paths, report))
    assert 'train: ' in printed and 'skipped 1 id(s) without an image: 7272' in printed
    assert 'skipped 1 id(s) without an image: 5347' in printed
    _assert_cv_rand_output(out)


def test_hand_errors(hand_root, tmp_path):
    split = hand_root / 'setup' / 'cv' / 'set3' / 'test.txt'
    split.write_text('3129\n9999\n')
    with pytest.raises(ValueError, match=r'set3.test\.txt: id\(s\) 9999 are not in'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), cv_set=3)
    split.write_text('3128\n')  # also in set3 train
    with pytest.raises(ValueError, match='3128 are in both'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'b'), cv_set=3)

    write_image(hand_root / 'images' / '3130.jpg', 40, 60)
    with pytest.raises(ValueError, match='--image-ext'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'c'), cv_set=1)
    paths = hand.convert_payer_hand(str(hand_root), str(tmp_path / 'c'), cv_set=1,
                                    image_ext='jpg', val_count=1)
    assert read_json(paths['test'])['images'][0]['file_name'] == '3130.jpg'
    os.remove(hand_root / 'images' / '3129.jpg')
    with pytest.raises(FileNotFoundError, match='No image for id 3129'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'd'), cv_set=1,
                                image_ext='jpg', val_count=1)

    csv_path = hand_root / 'setup' / 'all.csv'
    lines = csv_path.read_text().splitlines()
    csv_path.write_text('\n'.join(lines[:2] + [lines[2].rsplit(',', 2)[0]] + lines[3:]))
    with pytest.raises(ValueError, match=r'all\.csv, line 3: expected an id and 74'):
        hand.read_payer_csv(str(csv_path))
    fields = lines[3].split(',')
    fields[1] = 'abc'
    csv_path.write_text('\n'.join(lines[:3] + [','.join(fields)]))
    with pytest.raises(ValueError, match=r'all\.csv, line 4: landmark 0'):
        hand.read_payer_csv(str(csv_path))


@pytest.mark.slow
def test_hand_command_line(hand_root, tmp_path):
    """--split-folders SPLIT=DIR items and the printed skips, as a user runs the script."""
    copy = _write_folder_copy(tmp_path)
    proc = run_converter_tool('payer_hand_to_coco.py', [
        hand_root, 'out', '--split-folders', f'train={copy / "train"}', f'val={copy / "valid"}',
        f'test={copy / "test"}'], cwd=tmp_path)
    assert 'test: ' in proc.stdout
    assert _folder_copy_ids(tmp_path / 'out') == dict(train=['3128', '3129'], val=['3131'],
                                                      test=['3130'])
    _add_cv_rand_split(hand_root)
    proc = run_converter_tool('payer_hand_to_coco.py', [
        hand_root, 'b', '--cv-set', '1', '--split-dir', 'cv_rand/10/1', '--skip-missing-images',
        '--val-count', '1'], cwd=tmp_path)
    assert 'train: ' in proc.stdout and 'skipped 1 id(s) without an image: 7272' in proc.stdout
    assert 'skipped 1 id(s) without an image: 5347' in proc.stdout
    _assert_cv_rand_output(tmp_path / 'b')
