"""The ISBI 2015 reader on a tiny fake tree laid out like the real download."""
import os
import os.path as osp

import numpy as np
import pytest
from converter_test_utils import (assert_release_layout, keypoints_xyv, read_json,
                                  run_converter_tool, write_image)

from mmpose_medsapiens.conversion.readers import isbi2015 as isbi

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
        write_image(root / 'RawImage' / folder / f'{image_id:03d}.bmp', *ISBI_SIZE)
        senior, junior = _isbi_coords(image_id)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_senior' / f'{image_id:03d}.txt', senior)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_junior' / f'{image_id:03d}.txt', junior)
    return root


def _isbi_full_ids(root):
    """Add images and annotations up to ids 1-6 (train), 151-152, 301-302."""
    for image_id, folder in [(i, 'TrainingData') for i in range(3, 7)] + [
            (152, 'Test1Data'), (302, 'Test2Data')]:
        write_image(root / 'RawImage' / folder / f'{image_id:03d}.bmp', *ISBI_SIZE)
        senior, junior = _isbi_coords(image_id)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_senior' / f'{image_id:03d}.txt', senior)
        _write_isbi_txt(root / 'AnnotationsByMD' / '400_junior' / f'{image_id:03d}.txt', junior)


def test_isbi_writes_the_head_configs_layout(isbi_root, tmp_path):
    _isbi_full_ids(isbi_root)
    out = tmp_path / 'out'
    paths = isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True, val_count=2)
    assert sorted(os.listdir(out)) == ['Images'] + sorted(
        f'head_coco_{s}_annotations.json' for s in ('train', 'val', 'test', 'test1', 'test2'))
    ids = {split: [im['id'] for im in read_json(path)['images']] for split, path in paths.items()}
    # The validation draw is seeded: 2 of the 6 training images, the same every run.
    assert sorted(ids['train'] + ids['val']) == [1, 2, 3, 4, 5, 6] and len(ids['val']) == 2
    assert ids['test'] == ids['test1'] == [151, 152] and ids['test2'] == [301, 302]
    again = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'again'), allow_incomplete=True,
                                  val_count=2)
    assert [im['id'] for im in read_json(again['val'])['images']] == ids['val']
    other = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'seed1'), allow_incomplete=True,
                                  val_count=2, seed=1)
    assert [im['id'] for im in read_json(other['val'])['images']] != ids['val']
    for split, path in paths.items():
        coco = read_json(path)
        assert coco['info']['ground_truth'] == 'mean' and coco['info']['split'] == split
        assert len(coco['categories'][0]['keypoints']) == 19
        for im, ann in zip(coco['images'], coco['annotations']):
            assert im['file_name'] == f'{im["id"]:03d}.bmp'
            link = out / 'Images' / im['file_name']
            folder = ISBI_IDS.get(im['id']) or (
                'TrainingData' if im['id'] < 151 else 'Test1Data' if im['id'] < 301 else
                'Test2Data')
            assert osp.samefile(link, isbi_root / 'RawImage' / folder / im['file_name'])
            assert (im['width'], im['height']) == ISBI_SIZE
            assert im['spacing'] == [0.1, 0.1]
            assert ann['image_id'] == im['id'] and ann['bbox'] == [0, 0, 60, 80]
            senior, junior = _isbi_coords(im['id'])
            xyv = keypoints_xyv(ann)
            np.testing.assert_allclose(xyv[:, :2], (senior + junior) / 2)
            assert (xyv[:, 2] == 2).all()
    assert read_json(paths['test'])['info']['challenge_split'] == 'Test1Data'
    assert read_json(paths['val'])['info']['validation_carved'] == dict(
        from_split='train', num_val=2, seed=0)
    # The mean really differs from each annotator on this data.
    senior, junior = _isbi_coords(1)
    assert not np.allclose(senior, junior)
    # What the head configs read, with only data_root set: nothing renamed.
    datasets = assert_release_layout(out, 'head', 'sapiens_lora_head.py')
    assert [len(datasets[s]) for s in ('train', 'val', 'test')] == [4, 2, 2]
    assert datasets['test'].get_data_info(0)['calibration']['spacing'] == (0.1, 0.1)


@pytest.mark.parametrize('gt', ['senior', 'junior'])
def test_isbi_single_annotator_and_split_mapping(isbi_root, tmp_path, gt):
    paths = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'o'), ground_truth=gt,
                                  test_split='test2', val_split='test1', allow_incomplete=True)
    coco = read_json(paths['test'])
    assert coco['info']['ground_truth'] == gt and coco['info']['challenge_split'] == 'Test2Data'
    assert [im['id'] for im in coco['images']] == [301]
    assert [im['id'] for im in read_json(paths['val'])['images']] == [151]
    assert [im['id'] for im in read_json(paths['train'])['images']] == [1, 2]
    expected = _isbi_coords(301)[0 if gt == 'senior' else 1]
    np.testing.assert_allclose(keypoints_xyv(coco['annotations'][0])[:, :2], expected)
    both = isbi.convert_isbi2015(str(isbi_root), str(tmp_path / 'b'), test_split='test1+test2',
                                 allow_incomplete=True)
    assert [im['id'] for im in read_json(both['test'])['images']] == [151, 301]
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
    from mmpose_medsapiens.datasets import MedicalLandmarkDataset, landmark_metainfo
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
    assert read_json(out / 'head_coco_test2_annotations.json')['images'][0]['id'] == 301
    assert osp.samefile(out / 'Images' / '151.bmp',
                        isbi_root / 'RawImage' / 'Test1Data' / '151.bmp')


def test_isbi_junior_copies_and_never_overwrites(isbi_root, tmp_path):
    out = tmp_path / 'cli'
    isbi.convert_isbi2015(str(isbi_root), str(out), ground_truth='junior', allow_incomplete=True,
                          image_mode='copy', val_count=1)
    assert read_json(out / 'head_coco_train_annotations.json')['info']['ground_truth'] == 'junior'
    assert not osp.islink(out / 'Images' / '001.bmp') and (out / 'Images' / '001.bmp').is_file()
    with pytest.raises(FileExistsError, match='Refusing to overwrite'):
        isbi.convert_isbi2015(str(isbi_root), str(out), allow_incomplete=True)


@pytest.mark.slow
def test_isbi_command_line(isbi_root, tmp_path):
    """The script from another folder, a relative OUT_DIR, every option passed on."""
    run_converter_tool('isbi2015_to_coco.py',
                       [isbi_root, 'out', '--ground-truth', 'junior', '--allow-incomplete',
                        '--images', 'copy', '--val-count', '1'], cwd=tmp_path)
    out = tmp_path / 'out'
    assert read_json(out / 'head_coco_train_annotations.json')['info']['ground_truth'] == 'junior'
    assert not osp.islink(out / 'Images' / '001.bmp') and (out / 'Images' / '001.bmp').is_file()
    assert read_json(out / 'head_coco_test2_annotations.json')['images'][0]['id'] == 301
    # Errors end the run with a message, not a traceback.
    proc = run_converter_tool('isbi2015_to_coco.py', [isbi_root, 'out', '--allow-incomplete'],
                              cwd=tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith('error: Refusing to overwrite')
