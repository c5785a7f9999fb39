"""Dataset converters on tiny fake trees laid out like the real downloads."""
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_tool


def _load(name):
    return load_tool(f'dataset_converters/{name}.py')


CONVERTERS = ('isbi2015_to_coco', 'payer_hand_to_coco', 'gu2net_chest_to_coco', 'labelme_to_coco',
              'aariz_to_coco', 'cldetection2023_to_coco', 'echonet_lvh_to_coco')
isbi = _load('isbi2015_to_coco')
hand = _load('payer_hand_to_coco')
chest = _load('gu2net_chest_to_coco')
labelme = _load('labelme_to_coco')


def _read(path):
    with open(path) as f:
        return json.load(f)


def _xy(ann):
    return np.array(ann['keypoints'], dtype=float).reshape(-1, 3)


def _image(path, width, height, value=80):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width), value, np.uint8))


def _write_mha_header_only_size(path, width, height):
    pixels = np.zeros((height, width), np.uint8)
    header = f'NDims = 3\nDimSize = {width} {height} 1\nElementType = MET_UCHAR\n' \
             'ElementDataFile = LOCAL\n'
    with open(path, 'wb') as f:
        f.write(header.encode() + pixels.tobytes())


def _config_datasets(config, data_root):
    """The config's train/val/test datasets with only ``data_root`` changed."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmpose.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    init_default_scope('mmpose')
    built = {}
    for split in ('train', 'val', 'test'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        ds_cfg.data_root = str(data_root)
        built[split] = DATASETS.build(ds_cfg)
    return built


def _assert_release_layout(out, set_name, config):
    """Every split file is where ``config`` reads it and every image resolves."""
    datasets = _config_datasets(config, out)
    for split, ds in datasets.items():
        assert ds.ann_file == osp.join(str(out), f'{set_name}_coco_{split}_annotations.json')
        for i in range(len(ds)):
            path = ds.get_data_info(i)['img_path']
            assert osp.dirname(path) == osp.join(str(out), 'Images') and osp.isfile(path)
        assert ds[0]['inputs'].ndim == 3  # loads through the config's pipeline
    return datasets


# ------------------------------------------------------------------ ISBI 2015
ISBI_SIZE = (60, 80)  # width, height
ISBI_IDS = {1: 'TrainingData', 2: 'TrainingData', 151: 'Test1Data', 301: 'Test2Data'}


def _isbi_coords(image_id):
    rng = np.random.default_rng(image_id)
    senior = rng.integers(5, 50, size=(19, 2)).astype(float)
    junior = senior + rng.integers(-3, 4, size=(19, 2))
    return senior, junior


def _write_isbi_txt(path, coords, extra=('2', '1', '3')):
    os.makedirs(osp.dirname(path), exist_ok=True)
    lines = [f'{int(x)},{int(y)}' for x, y in coords] + list(extra)
    with open(path, 'w') as f:
        f.write('\r\n'.join(lines) + '\r\n')


@pytest.fixture
def isbi_root(tmp_path):
    root = tmp_path / 'ISBI2015'
    for image_id, folder in ISBI_IDS.items():
        _image(root / 'RawImage' / folder / f'{image_id:03d}.bmp', *ISBI_SIZE)
        senior, junior = _isbi_coords(image_id)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_senior' / f'{image_id:03d}.txt', senior)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_junior' / f'{image_id:03d}.txt', junior)
    return root


def _isbi_full_ids(root):
    """Add images and annotations up to ids 1-6 (train), 151-152, 301-302."""
    for image_id, folder in [(i, 'TrainingData') for i in range(3, 7)] + [
            (152, 'Test1Data'), (302, 'Test2Data')]:
        _image(root / 'RawImage' / folder / f'{image_id:03d}.bmp', *ISBI_SIZE)
        senior, junior = _isbi_coords(image_id)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_senior' / f'{image_id:03d}.txt', senior)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_junior' / f'{image_id:03d}.txt', junior)


def test_isbi_writes_the_head_configs_layout(isbi_root, tmp_path):
    _isbi_full_ids(isbi_root)
    out = tmp_path / 'out'
    paths = isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True, val_count=2)
    assert sorted(os.listdir(out)) == ['Images'] + sorted(
        f'head_coco_{s}_annotations.json' for s in ('train', 'val', 'test', 'test1', 'test2'))
    ids = {split: [im['id'] for im in _read(path)['images']] for split, path in paths.items()}
    # The validation draw is seeded: 2 of the 6 training images, the same every run.
    assert sorted(ids['train'] + ids['val']) == [1, 2, 3, 4, 5, 6] and len(ids['val']) == 2
    assert ids['test'] == ids['test1'] == [151, 152] and ids['test2'] == [301, 302]
    again = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'again'), allow_incomplete=True,
                                  val_count=2)
    assert [im['id'] for im in _read(again['val'])['images']] == ids['val']
    other = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'seed1'), allow_incomplete=True,
                                  val_count=2, seed=1)
    assert [im['id'] for im in _read(other['val'])['images']] != ids['val']
    for split, path in paths.items():
        coco = _read(path)
        assert coco['info']['ground_truth'] == 'mean' and coco['info']['split'] == split
        assert len(coco['categories'][0]['keypoints']) == 19
        for im, ann in zip(coco['images'], coco['annotations']):
            assert im['file_name'] == f'{im["id"]:03d}.bmp'
            link = out / 'Images' / im['file_name']
            folder = ISBI_IDS.get(im['id']) or ('TrainingData' if im['id'] < 151 else
                                                 'Test1Data' if im['id'] < 301 else 'Test2Data')
            assert osp.samefile(link, isbi_root / 'RawImage' / folder / im['file_name'])
            assert (im['width'], im['height']) == ISBI_SIZE
            assert im['spacing'] == [0.1, 0.1]
            assert ann['image_id'] == im['id'] and ann['bbox'] == [0, 0, 60, 80]
            senior, junior = _isbi_coords(im['id'])
            xyv = _xy(ann)
            np.testing.assert_allclose(xyv[:, :2], (senior + junior) / 2)
            assert (xyv[:, 2] == 2).all()
    assert _read(paths['test'])['info']['challenge_split'] == 'Test1Data'
    assert _read(paths['val'])['info']['validation_carved'] == dict(from_split='train',
                                                                     num_val=2, seed=0)
    # The mean really differs from each annotator on this data.
    senior, junior = _isbi_coords(1)
    assert not np.allclose(senior, junior)
    # What the head configs read, with only data_root set: nothing renamed.
    datasets = _assert_release_layout(out, 'head', 'sapiens_lora_head.py')
    assert [len(datasets[s]) for s in ('train', 'val', 'test')] == [4, 2, 2]
    assert datasets['test'].get_data_info(0)['calibration']['spacing'] == (0.1, 0.1)


@pytest.mark.parametrize('gt', ['senior', 'junior'])
def test_isbi_single_annotator_and_split_mapping(isbi_root, tmp_path, gt):
    paths = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'o'), ground_truth=gt,
                                  test_split='test2', val_split='test1', allow_incomplete=True)
    coco = _read(paths['test'])
    assert coco['info']['ground_truth'] == gt and coco['info']['challenge_split'] == 'Test2Data'
    assert [im['id'] for im in coco['images']] == [301]
    assert [im['id'] for im in _read(paths['val'])['images']] == [151]
    assert [im['id'] for im in _read(paths['train'])['images']] == [1, 2]
    expected = _isbi_coords(301)[0 if gt == 'senior' else 1]
    np.testing.assert_allclose(_xy(coco['annotations'][0])[:, :2], expected)
    both = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'b'), test_split='test1+test2',
                                 allow_incomplete=True)
    assert [im['id'] for im in _read(both['test'])['images']] == [151, 301]
    with pytest.raises(ValueError, match='both the validation and the test split'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'c'), val_split='test1',
                              allow_incomplete=True)
    with pytest.raises(ValueError, match='do not apply'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'c'), val_split='test2',
                              val_count=1, allow_incomplete=True)
    with pytest.raises(ValueError, match=r'Cannot carve 2 validation sample\(s\) out of 2'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'c'), val_count=2,
                              allow_incomplete=True)


def test_isbi_output_loads_in_the_dataset(isbi_root, tmp_path):
    """The JSON feeds MedicalLandmarkDataset + LoadMedicalImage as is."""
    from mmpose_medsapiens.datasets import landmark_metainfo, MedicalLandmarkDataset
    from mmpose_medsapiens.datasets.transforms import LoadMedicalImage
    out = tmp_path / 'o'
    paths = isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True,
                                  val_split='test2')
    ds = MedicalLandmarkDataset(
        ann_file=paths['train'], data_root=str(out), data_prefix=dict(img='Images/'),
        metainfo=landmark_metainfo('isbi2015', isbi.ISBI2015_LANDMARKS),
        pipeline=[LoadMedicalImage()], test_mode=True)
    sample = ds[1]
    assert sample['img'].shape == (80, 60, 3) and sample['img_id'] == 2
    assert sample['calibration']['spacing'] == (0.1, 0.1)
    np.testing.assert_allclose(sample['keypoints'][0], np.mean(_isbi_coords(2), axis=0))


def test_isbi_requires_complete_set_by_default(isbi_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'148 of the 150 images of split train.*003\.bmp'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'o'))
    assert not osp.exists(tmp_path / 'o')


def test_isbi_annotation_errors_name_the_file(isbi_root, tmp_path):
    junior_2 = isbi_root / 'AnnotationsByMD' / '400_junior' / '002.txt'
    junior_2.unlink()
    with pytest.raises(FileNotFoundError, match=r'400_junior.002\.txt'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'a'), allow_incomplete=True)
    # The senior ground truth does not need the junior file.
    isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'b'), 'senior', allow_incomplete=True)

    senior_151 = isbi_root / 'AnnotationsByMD' / '400_senior' / '151.txt'
    _write_isbi_txt(senior_151, _isbi_coords(151)[0][:18], extra=())
    with pytest.raises(ValueError, match=r'151\.txt has 18 lines'):
        isbi.read_isbi_annotation(str(senior_151))
    coords = _isbi_coords(151)[0]
    _write_isbi_txt(senior_151, coords, extra=())
    text = senior_151.read_text().replace(f'{int(coords[4, 0])},', f'{int(coords[4, 0])};', 1)
    senior_151.write_text(text)
    with pytest.raises(ValueError, match=r'151\.txt, line 5'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'c'), 'senior',
                              allow_incomplete=True)

    _write_isbi_txt(senior_151, coords)
    (isbi_root / 'RawImage' / 'Test2Data' / '301.bmp').unlink()
    with pytest.raises(FileNotFoundError, match=r'301\.bmp'):
        isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'd'), 'senior',
                              allow_incomplete=True)


def test_isbi_never_overwrites(isbi_root, tmp_path):
    out = tmp_path / 'out'
    (out / 'Images').mkdir(parents=True)
    (out / 'head_coco_test2_annotations.json').write_text('mine')
    with pytest.raises(FileExistsError, match='head_coco_test2'):
        isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True)
    assert sorted(os.listdir(out)) == ['Images', 'head_coco_test2_annotations.json']
    assert os.listdir(out / 'Images') == []  # nothing half-written
    assert (out / 'head_coco_test2_annotations.json').read_text() == 'mine'
    # Another file under an image's name in Images/ is not replaced either.
    (out / 'head_coco_test2_annotations.json').unlink()
    (out / 'Images' / '151.bmp').write_bytes(b'not the image')
    with pytest.raises(FileExistsError, match=r'Images.*151\.bmp'):
        isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True)
    assert sorted(os.listdir(out)) == ['Images']
    isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True, overwrite=True)
    assert _read(out / 'head_coco_test2_annotations.json')['images'][0]['id'] == 301
    assert osp.samefile(out / 'Images' / '151.bmp', isbi_root / 'RawImage' / 'Test1Data' / '151.bmp')


def test_isbi_cli(isbi_root, tmp_path, capsys):
    out = tmp_path / 'cli'
    isbi.main([str(isbi_root), str(out), '--ground-truth', 'junior', '--allow-incomplete',
               '--images', 'copy', '--val-count', '1'])
    assert _read(out / 'head_coco_train_annotations.json')['info']['ground_truth'] == 'junior'
    assert not osp.islink(out / 'Images' / '001.bmp') and (out / 'Images' / '001.bmp').is_file()
    with pytest.raises(SystemExit, match='Refusing to overwrite'):
        isbi.main([str(isbi_root), str(out), '--allow-incomplete'])


@pytest.mark.parametrize('name', CONVERTERS)
def test_scripts_put_the_repo_first_on_sys_path(name, monkeypatch, tmp_path, capsys):
    # In-process (a fresh interpreter would spend most of the test budget
    # importing torch): run each file as __main__ from another folder with
    # the repo root taken off sys.path.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if p != REPO_ROOT])
    monkeypatch.setattr(sys, 'argv', [name, '--help'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(osp.join(REPO_ROOT, 'tools', 'dataset_converters', f'{name}.py'),
                       run_name='__main__')
    assert exit_info.value.code == 0
    assert sys.path[0] == REPO_ROOT
    assert 'usage:' in capsys.readouterr().out


def test_isbi_script_end_to_end(isbi_root, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'argv', ['isbi2015_to_coco.py', str(isbi_root), 'out',
                                      '--allow-incomplete'])
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'isbi2015_to_coco.py'),
                   run_name='__main__')
    assert _read(tmp_path / 'out' / 'head_coco_test2_annotations.json')['images'][0]['id'] == 301


# ------------------------------------------------------------------ Payer hand
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
            _write_mha_header_only_size(root / 'images' / f'{image_id}.mha', w, h)
        else:
            _image(root / 'images' / f'{image_id}.jpg', w, h)
    return root


def test_hand_one_cv_set_in_the_hand_configs_layout(hand_root, tmp_path):
    out = tmp_path / 'out'
    paths = hand.convert_payer_hand(str(hand_root), str(out), cv_set=3, val_count=1)
    assert sorted(os.listdir(out)) == ['Images'] + sorted(
        f'hand_coco_{s}_annotations.json' for s in ('train', 'val', 'test'))
    train, test = HAND_SPLITS[3]
    ids = {split: [str(im['id']) for im in _read(path)['images']] for split, path in paths.items()}
    assert sorted(ids['train'] + ids['val']) == sorted(train) and len(ids['val']) == 1
    assert ids['test'] == test
    for split, path in paths.items():
        coco = _read(path)
        assert coco['info']['cv_set'] == 3 and coco['info']['split'] == split
        for im, ann in zip(coco['images'], coco['annotations']):
            image_id = str(im['id'])
            ext = 'mha' if image_id == '3130' else 'jpg'
            assert im['file_name'] == f'{image_id}.{ext}'
            assert osp.samefile(out / 'Images' / im['file_name'],
                                hand_root / 'images' / im['file_name'])
            assert (im['width'], im['height']) == HAND_SIZES[image_id]
            assert 'spacing' not in im
            xyv = _xy(ann)
            expected = _hand_coords(image_id)
            if image_id == '3131':
                assert xyv[36].tolist() == [0, 0, 0] and ann['num_keypoints'] == 36
                xyv, expected = xyv[:36], expected[:36]
            np.testing.assert_allclose(xyv[:, :2], expected)
            assert (xyv[:, 2] == 2).all()
    datasets = _assert_release_layout(out, 'hand', 'sapiens_lora_hand.py')
    assert datasets['test'].get_data_info(0)['calibration']['normalize']  # the wrist rule


def test_hand_split_folders_as_in_copies_split_into_folders(hand_root, tmp_path, capsys):
    # A copy split into train/valid/test image folders, coordinates in all.csv.
    copy = tmp_path / 'copy'
    for folder, ids in (('train', ('3128', '3129')), ('valid', ('3131', )), ('test', ('3130', ))):
        for image_id in ids:
            _image(copy / folder / f'{image_id}.jpg', *HAND_SIZES[image_id])
    out = tmp_path / 'out'
    hand.main([str(hand_root), str(out), '--split-folders', f'train={copy / "train"}',
               f'val={copy / "valid"}', f'test={copy / "test"}'])
    printed = capsys.readouterr().out
    assert 'test: ' in printed
    ids = {s: [im['source_id'] for im in _read(out / f'hand_coco_{s}_annotations.json')['images']]
           for s in ('train', 'val', 'test')}
    assert ids == dict(train=['3128', '3129'], val=['3131'], test=['3130'])
    test = _read(out / 'hand_coco_test_annotations.json')
    assert test['info']['split_folder'] == str(copy / 'test')
    assert osp.samefile(out / 'Images' / '3130.jpg', copy / 'test' / '3130.jpg')
    _assert_release_layout(out, 'hand', 'sapiens_lora_hand.py')
    # Without a val folder the validation split is a seeded draw from train.
    paths = hand.convert_payer_hand(str(hand_root), str(tmp_path / 'drawn'),
                                    split_folders=dict(train=str(copy / 'train'),
                                                       test=str(copy / 'test')))
    assert len(_read(paths['val'])['images']) == 1 and len(_read(paths['train'])['images']) == 1
    # An image of an id that all.csv does not have is named.
    _image(copy / 'test' / '4444.jpg', 20, 20)
    with pytest.raises(ValueError, match=r'test: id\(s\) 4444 are not in .*all\.csv'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(train=str(copy / 'train'),
                                                   test=str(copy / 'test')))
    with pytest.raises(ValueError, match=r'3128, 3129 are in both .*train \(train\) and .*\(test\)'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(train=str(copy / 'train'),
                                                   test=str(copy / 'train')))
    with pytest.raises(ValueError, match='train=DIR'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'x'),
                                split_folders=dict(test=str(copy / 'test')))


def test_hand_split_folder_and_missing_images(hand_root, tmp_path, capsys):
    # Payer's setup also has cv_reduced/ and cv_rand/<n>/<k>/ next to cv/.
    folder = hand_root / 'setup' / 'cv_rand' / '10' / '1' / 'set1'
    folder.mkdir(parents=True)
    (folder / 'train.txt').write_text('3129\n7272\n3128\n3131\n')
    (folder / 'test.txt').write_text('3130\n5347\n')
    rows = (hand_root / 'setup' / 'all.csv').read_text().splitlines()
    extra = [','.join([i] + [f'{v:g}' for v in _hand_coords(i).ravel()]) for i in ('7272', '5347')]
    (hand_root / 'setup' / 'all.csv').write_text('\n'.join(rows + extra) + '\n')
    # Without the option the first id without an image stops the conversion, named.
    with pytest.raises(FileNotFoundError, match=r'No image for id 7272:.*set1.train\.txt.*--skip-missing-images'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), split_dir='cv_rand/10/1')
    assert not (tmp_path / 'a').exists()
    with pytest.raises(FileNotFoundError, match=r'setup/cv_reduced does not exist.*cv, cv_rand'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), split_dir='cv_reduced')
    out = tmp_path / 'b'
    hand.main([str(hand_root), str(out), '--cv-set', '1', '--split-dir', 'cv_rand/10/1',
               '--skip-missing-images', '--val-count', '1'])
    printed = capsys.readouterr().out
    assert 'train: ' in printed and 'skipped 1 id(s) without an image: 7272' in printed
    assert 'skipped 1 id(s) without an image: 5347' in printed
    train = _read(out / 'hand_coco_train_annotations.json')
    val = _read(out / 'hand_coco_val_annotations.json')
    kept = [img['source_id'] for img in train['images']]
    assert sorted(kept + [img['source_id'] for img in val['images']]) == ['3128', '3129', '3131']
    assert train['info']['skipped_ids_without_image'] == ['7272']
    assert train['info']['split_dir'] == 'cv_rand/10/1'
    for img, ann in zip(train['images'], train['annotations']):  # coordinates stay with their id
        np.testing.assert_allclose(np.reshape(ann['keypoints'], (-1, 3))[:, :2],
                                   _hand_coords(img['source_id']), equal_nan=True)


def test_hand_errors(hand_root, tmp_path):
    split = hand_root / 'setup' / 'cv' / 'set3' / 'test.txt'
    split.write_text('3129\n9999\n')
    with pytest.raises(ValueError, match=r'set3.test\.txt: id\(s\) 9999 are not in'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'a'), cv_set=3)
    split.write_text('3128\n')  # also in set3 train
    with pytest.raises(ValueError, match='3128 are in both'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'b'), cv_set=3)

    _image(hand_root / 'images' / '3130.jpg', 40, 60)
    with pytest.raises(ValueError, match='--image-ext'):
        hand.convert_payer_hand(str(hand_root), str(tmp_path / 'c'), cv_set=1)
    paths = hand.convert_payer_hand(str(hand_root), str(tmp_path / 'c'), cv_set=1,
                                    image_ext='jpg', val_count=1)
    assert _read(paths['test'])['images'][0]['file_name'] == '3130.jpg'
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


# ------------------------------------------------------------------ GU2Net chest
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
        _image(root / 'pngs' / f'CHNCXR_{n:04d}_0.png', w, h)
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
        coco = _read(paths[split])
        names[split] = [im['file_name'] for im in coco['images']]
        for im, ann in zip(coco['images'], coco['annotations']):
            n = int(im['file_name'][7:11])
            w, h = CHEST_SIZES[n]
            assert (im['width'], im['height']) == (w, h) and 'spacing' not in im
            expected = _chest_ratios(n) * [w, h]  # x = rx * W, y = ry * H
            np.testing.assert_allclose(_xy(ann)[:, :2], expected)
    assert names == dict(train=['CHNCXR_0001_0.png', 'CHNCXR_0002_0.png'],
                         val=['CHNCXR_0003_0.png'],
                         test=['CHNCXR_0004_0.png', 'CHNCXR_0005_0.png'])
    # Ids number the sorted selection: unique across the three files.
    assert [im['id'] for s in ('train', 'val', 'test') for im in _read(paths[s])['images']] == \
        [1, 2, 3, 4, 5]
    assert osp.samefile(out / 'Images' / 'CHNCXR_0004_0.png',
                        chest_root / 'pngs' / 'CHNCXR_0004_0.png')
    _assert_release_layout(out, 'chest', 'sapiens_lora_chest.py')
    # One value by hand: ratio 0.5 of a 40 px wide image is x = 20.
    assert np.allclose(chest.ratios_to_pixels([[0.5, 0.25]], 40, 30), [[20.0, 7.5]])


def test_chest_default_split_and_exclusion_list(chest_root, tmp_path):
    with pytest.raises(ValueError, match=r'5 labelled .*\(195, 34, 50\) add up to 279'):
        chest.convert_gu2net_chest(str(chest_root), str(tmp_path / 'a'))
    # Without GU2Net's exclusions CHNCXR_0059_0 comes back (6 images).
    chest.main([str(chest_root), str(tmp_path / 'b'), '--exclude', '--split-sizes', '4', '1',
                '1'])
    coco = _read(tmp_path / 'b' / 'chest_coco_test_annotations.json')
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


# ------------------------------------------------------------------ LabelMe
def _labelme(path, image, shapes, size=(64, 48)):
    data = dict(version='5.4.1', flags={}, shapes=shapes, imagePath=image, imageData=None,
                imageWidth=size[0], imageHeight=size[1])
    path.write_text(json.dumps(data))


def _point(label, x, y):
    return dict(label=label, points=[[x, y]], group_id=None, shape_type='point', flags={})


@pytest.fixture
def labelme_dir(tmp_path):
    folder = tmp_path / 'lm'
    _image(folder / 'imgs' / 'one.png', 64, 48)
    _image(folder / 'imgs' / 'two.png', 64, 48)
    _labelme(folder / 'one.json', 'imgs/one.png',
             [_point('c', 5.5, 6.5), _point('a', 1, 2),
              dict(label='a', points=[[0, 0], [3, 3], [0, 3]], shape_type='polygon')])
    _labelme(folder / 'two.json', 'imgs/two.png',
             [_point('b', 10, 20), _point('a', 30.25, 40), _point('c', 63, 47)])
    return folder


def test_labelme_mapping(labelme_dir, tmp_path):
    out = tmp_path / 'out'
    paths = labelme.convert_labelme([str(labelme_dir)], str(out), 'teeth', ['a', 'b', 'c'],
                                    category_name='ceph', spacing=[0.1, 0.2])
    assert list(paths) == ['train']
    assert paths['train'] == str(out / 'teeth_coco_train_annotations.json')
    coco = _read(paths['train'])
    assert coco['categories'][0]['keypoints'] == ['a', 'b', 'c']
    assert coco['categories'][0]['name'] == 'ceph'
    assert [im['file_name'] for im in coco['images']] == ['one.png', 'two.png']
    assert osp.samefile(out / 'Images' / 'one.png', labelme_dir / 'imgs' / 'one.png')
    assert all(im['spacing'] == [0.1, 0.2] for im in coco['images'])
    one, two = coco['annotations']
    assert one['keypoints'] == [1.0, 2.0, 2, 0.0, 0.0, 0, 5.5, 6.5, 2]
    assert one['num_keypoints'] == 2
    assert two['keypoints'] == [30.25, 40.0, 2, 10.0, 20.0, 2, 63.0, 47.0, 2]


def test_labelme_train_val_test_in_one_data_root(labelme_dir, tmp_path):
    """Train with a seeded val draw, then test from other files: one data root."""
    names = ['a', 'b', 'c'] + [f'h{i}' for i in range(16)]  # the head set has 19
    for stem in ('three', 'four', 'five'):
        _image(labelme_dir / 'imgs' / f'{stem}.png', 64, 48)
        _labelme(labelme_dir / f'{stem}.json', f'imgs/{stem}.png',
                 [_point('a', 3, 4), _point('b', 5, 6), _point('c', 7, 8)])
    test_dir = tmp_path / 'test_files'
    _image(test_dir / 'six.png', 64, 48)
    _labelme(test_dir / 'six.json', 'six.png', [_point('a', 1, 1), _point('b', 2, 2),
                                               _point('c', 3, 3)])
    out = tmp_path / 'out'
    paths = labelme.convert_labelme([str(labelme_dir)], str(out), 'head', names,
                                    spacing=0.18, val_count=2, seed=3)
    train, val = _read(paths['train']), _read(paths['val'])
    assert len(train['images']) == 3 and len(val['images']) == 2
    assert val['info']['validation_carved'] == dict(from_split='train', num_val=2, seed=3)
    again = labelme.convert_labelme([str(labelme_dir)], str(tmp_path / 'again'), 'head',
                                    names, spacing=0.18, val_count=2, seed=3)
    assert [im['file_name'] for im in _read(again['val'])['images']] == \
        [im['file_name'] for im in val['images']]
    labelme.main([str(test_dir), '--out-dir', str(out), '--set', 'head', '--split', 'test',
                  '--names', ','.join(names), '--spacing', '0.18'])
    assert sorted(os.listdir(out / 'Images')) == sorted(
        f'{s}.png' for s in ('one', 'two', 'three', 'four', 'five', 'six'))
    # The head config reads the three files with only data_root set.
    datasets = _config_datasets('sapiens_lora_head.py', out)
    assert len(datasets['val']) == 2 and len(datasets['test']) == 1
    assert datasets['test'].get_data_info(0)['img_path'] == str(out / 'Images' / 'six.png')
    with pytest.raises(ValueError, match='training files only'):
        labelme.convert_labelme([str(test_dir)], str(out), 'head', names,
                                split='test', val_count=1)
    # Two images that would share a name in Images/ are refused, both named.
    _image(tmp_path / 'elsewhere' / 'one.png', 64, 48)
    _labelme(tmp_path / 'elsewhere' / 'dup.json', 'one.png', [_point('a', 1, 1)])
    with pytest.raises(ValueError, match=r'Two images would both be Images/one\.png'):
        labelme.convert_labelme([str(labelme_dir), str(tmp_path / 'elsewhere')],
                                str(tmp_path / 'dup'), 'head', names)


def test_labelme_spacing_from_a_dicom_header(labelme_dir, tmp_path):
    from helpers.dicom_files import write_dicom
    write_dicom(labelme_dir / 'imgs' / 'three.dcm', np.zeros((48, 64), np.uint16),
                PixelSpacing=[0.148, 0.15])
    _labelme(labelme_dir / 'three.json', 'imgs/three.dcm',
             [_point('a', 1, 2), _point('b', 3, 4), _point('c', 5, 6)])
    paths = labelme.convert_labelme([str(labelme_dir)], str(tmp_path / 'o'), 'head',
                                    ['a', 'b', 'c'])
    images = {im['file_name']: im for im in _read(paths['train'])['images']}
    assert images['three.dcm']['spacing'] == [0.15, 0.148]  # (x, y) = (column, row)
    assert images['three.dcm']['spacing_source'] == 'PixelSpacing'
    assert 'spacing' not in images['one.png'] and 'spacing_source' not in images['one.png']


def test_labelme_cli_with_names_file(labelme_dir, tmp_path):
    names = tmp_path / 'names.txt'
    names.write_text('# landmark order\na\nb\n\nc\n')
    out = tmp_path / 'cli'
    labelme.main([str(labelme_dir / 'two.json'), '--out-dir', str(out), '--set', 'head',
                  '--names-file', str(names), '--spacing', '0.5', '--images', 'copy'])
    coco = _read(out / 'head_coco_train_annotations.json')
    assert coco['images'][0]['file_name'] == 'two.png'
    assert coco['images'][0]['spacing'] == [0.5, 0.5]
    assert (out / 'Images' / 'two.png').is_file() and not osp.islink(out / 'Images' / 'two.png')
    with pytest.raises(SystemExit, match='Refusing to overwrite'):
        labelme.main([str(labelme_dir), '--out-dir', str(out), '--set', 'head',
                      '--names', 'a,b,c'])


def test_labelme_errors_name_file_and_label(labelme_dir, tmp_path):
    out = str(tmp_path / 'x')

    def convert(names):
        return labelme.convert_labelme([str(labelme_dir)], out, 'head', names)

    with pytest.raises(ValueError, match=r"one\.json: label 'c' is not a landmark name"):
        convert(['a', 'b'])
    _labelme(labelme_dir / 'two.json', 'imgs/two.png', [_point('b', 1, 1), _point('b', 2, 2)])
    with pytest.raises(ValueError, match=r"two\.json: label 'b' is used 2 times, at \(1, 1\), "
                       r"\(2, 2\)"):
        convert(['a', 'b', 'c'])
    _labelme(labelme_dir / 'two.json', 'imgs/gone.png', [_point('b', 1, 1)])
    with pytest.raises(ValueError, match=r'gone\.png does not exist'):
        convert(['a', 'b', 'c'])
    _labelme(labelme_dir / 'two.json', 'imgs/two.png', [_point('b', 64, 1)])
    with pytest.raises(ValueError, match=r'two\.png: landmark\(s\) outside'):
        convert(['a', 'b', 'c'])
    (labelme_dir / 'two.json').write_text('{"shapes": [')
    with pytest.raises(ValueError, match=r'two\.json is not valid JSON'):
        convert(['a', 'b', 'c'])
    assert not osp.exists(out)
    with pytest.raises(ValueError, match='unique'):
        labelme.read_names('a,b,a')


def test_labelme_real_export_problems_all_reported_then_skipped(labelme_dir, tmp_path, capsys):
    """What real annotation sessions contain, each reported per file and landmark."""
    # A label twice (either may be the right one), an unknown label, in one file.
    _labelme(labelme_dir / 'one.json', 'imgs/one.png',
             [_point('a', 1, 2), _point('a', 3, 4), _point('x', 5, 6), _point('b', 7, 8)])
    # imagePath in an older numbering: found by the JSON's stem under --img-root.
    _labelme(labelme_dir / 'two.json', 'imgs/img_0002.png',
             [_point('a', 10, 20), _point('b', 30, 40)])
    # JPEG content in a file named .tif.
    jpeg = cv2.imencode('.jpg', np.full((48, 64), 128, np.uint8))[1].tobytes()
    (labelme_dir / 'imgs' / 'three.tif').write_bytes(jpeg)
    _labelme(labelme_dir / 'three.json', 'imgs/three.tif', [_point('a', 1, 1)])
    out = tmp_path / 'converted'
    args = [str(labelme_dir), '--out-dir', str(out), '--set', 'head', '--names', 'a,b,c',
            '--img-root', str(labelme_dir / 'imgs')]
    with pytest.raises(SystemExit) as stop:
        labelme.main(args)
    message = str(stop.value)
    assert "2 problem(s) in 1 LabelMe file(s)" in message
    assert "one.json: label 'a' is used 2 times, at (1, 2), (3, 4)" in message
    assert "one.json: label 'x' is not a landmark name" in message
    assert not out.exists()
    labelme.main(args + ['--on-error', 'skip'])
    printed = capsys.readouterr().out
    assert 'skipped 1 file(s):' in printed and "label 'a' is used 2 times" in printed
    assert "imagePath 'imgs/img_0002.png' does not resolve; using" in printed
    assert 'WARNING: 2 of 2 train image(s) have no pixel spacing' in printed
    coco = _read(out / 'head_coco_train_annotations.json')
    assert [im['file_name'] for im in coco['images']] == ['three.tif', 'two.png']
    assert 'spacing_warning' in coco['info'] and coco['info']['skipped_files']
    assert coco['annotations'][0]['keypoints'][:3] == [1.0, 1.0, 2]
    from mmpose_medsapiens.fileio import probe_image, read_medical_image
    tif = str(out / 'Images' / 'three.tif')
    assert probe_image(tif) == (64, 48) and read_medical_image(tif).shape == (48, 64, 3)


def test_labelme_mean_of_two_annotators(labelme_dir, tmp_path):
    senior, junior = tmp_path / 'senior', tmp_path / 'junior'
    for folder, shift in ((senior, 0.0), (junior, 2.0)):
        folder.mkdir()
        for stem in ('one', 'two'):
            _labelme(folder / f'{stem}.json', str(labelme_dir / 'imgs' / f'{stem}.png'),
                     [_point('a', 10 + shift, 20), _point('b', 30, 40 - shift),
                      _point('c', 5, 5)])
    paths = labelme.convert_labelme([str(senior), str(junior)], str(tmp_path / 'mean'), 'head',
                                    ['a', 'b', 'c'], ground_truth='mean')
    coco = _read(paths['train'])
    assert coco['info']['ground_truth'] == 'mean'
    assert coco['annotations'][0]['keypoints'] == [11.0, 20.0, 2, 30.0, 39.0, 2, 5.0, 5.0, 2]
    # Every landmark is required from every annotator.
    _labelme(junior / 'two.json', str(labelme_dir / 'imgs' / 'two.png'), [_point('a', 1, 1)])
    with pytest.raises(ValueError, match=r"junior.two\.json: landmark 'b' is missing"):
        labelme.convert_labelme([str(senior), str(junior)], str(tmp_path / 'm2'), 'head',
                                ['a', 'b', 'c'], ground_truth='mean')
    (junior / 'two.json').unlink()
    with pytest.raises(ValueError, match=r'two: no LabelMe file in annotator folder .*junior'):
        labelme.convert_labelme([str(senior), str(junior)], str(tmp_path / 'm3'), 'head',
                                ['a', 'b', 'c'], ground_truth='mean')
