"""The LabelMe reader on small LabelMe exports, including what real sessions get wrong."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from converter_test_utils import config_datasets, read_json, run_converter_tool, write_image

from mmpose_medsapiens.conversion.readers import labelme
from mmpose_medsapiens.conversion.release_layout import DEFAULT_VAL_FRACTION


def _labelme(path, image, shapes, size=(64, 48)):
    data = dict(version='5.4.1', flags={}, shapes=shapes, imagePath=image, imageData=None,
                imageWidth=size[0], imageHeight=size[1])
    path.write_text(json.dumps(data))


def _point(label, x, y):
    return dict(label=label, points=[[x, y]], group_id=None, shape_type='point', flags={})


@pytest.fixture
def labelme_dir(tmp_path):
    folder = tmp_path / 'lm'
    write_image(folder / 'imgs' / 'one.png', 64, 48)
    write_image(folder / 'imgs' / 'two.png', 64, 48)
    _labelme(folder / 'one.json', 'imgs/one.png',
             [_point('c', 5.5, 6.5), _point('a', 1, 2),
              dict(label='a', points=[[0, 0], [3, 3], [0, 3]], shape_type='polygon')])
    _labelme(folder / 'two.json', 'imgs/two.png',
             [_point('b', 10, 20), _point('a', 30.25, 40), _point('c', 63, 47)])
    return folder


def test_labelme_mapping(labelme_dir, tmp_path):
    out = tmp_path / 'out'
    paths = labelme.convert_labelme([str(labelme_dir)], str(out), 'teeth', ['a', 'b', 'c'],
                                    category_name='ceph', spacing=[0.1, 0.2], val_fraction=0)
    assert list(paths) == ['train']
    assert paths['train'] == str(out / 'teeth_coco_train_annotations.json')
    coco = read_json(paths['train'])
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
        write_image(labelme_dir / 'imgs' / f'{stem}.png', 64, 48)
        _labelme(labelme_dir / f'{stem}.json', f'imgs/{stem}.png',
                 [_point('a', 3, 4), _point('b', 5, 6), _point('c', 7, 8)])
    test_dir = tmp_path / 'test_files'
    write_image(test_dir / 'six.png', 64, 48)
    _labelme(test_dir / 'six.json', 'six.png',
             [_point('a', 1, 1), _point('b', 2, 2), _point('c', 3, 3)])
    out = tmp_path / 'out'
    paths = labelme.convert_labelme([str(labelme_dir)], str(out), 'head', names,
                                    spacing=0.18, val_count=2, seed=3)
    train, val = read_json(paths['train']), read_json(paths['val'])
    assert len(train['images']) == 3 and len(val['images']) == 2
    assert val['info']['validation_carved'] == dict(from_split='train', num_val=2, seed=3)
    again = labelme.convert_labelme([str(labelme_dir)], str(tmp_path / 'again'), 'head',
                                    names, spacing=0.18, val_count=2, seed=3)
    assert [im['file_name'] for im in read_json(again['val'])['images']] == \
        [im['file_name'] for im in val['images']]
    labelme.convert_labelme([str(test_dir)], str(out), 'head', names, split='test',
                            spacing=[0.18])
    assert sorted(os.listdir(out / 'Images')) == sorted(
        f'{s}.png' for s in ('one', 'two', 'three', 'four', 'five', 'six'))
    # The head config reads the three files with only data_root set.
    datasets = config_datasets('sapiens_lora_head.py', out)
    assert len(datasets['val']) == 2 and len(datasets['test']) == 1
    assert datasets['test'].get_data_info(0)['img_path'] == str(out / 'Images' / 'six.png')
    with pytest.raises(ValueError, match='training files only'):
        labelme.convert_labelme([str(test_dir)], str(out), 'head', names,
                                split='test', val_count=1)
    # Two images that would share a name in Images/ are refused, both named.
    write_image(tmp_path / 'elsewhere' / 'one.png', 64, 48)
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
                                    ['a', 'b', 'c'], val_fraction=0)
    images = {im['file_name']: im for im in read_json(paths['train'])['images']}
    assert images['three.dcm']['spacing'] == [0.15, 0.148]  # (x, y) = (column, row)
    assert images['three.dcm']['spacing_source'] == 'PixelSpacing'
    assert 'spacing' not in images['one.png'] and 'spacing_source' not in images['one.png']


def test_labelme_names_file_copies_and_never_overwrites(labelme_dir, tmp_path):
    names = tmp_path / 'names.txt'
    names.write_text('# landmark order\na\nb\n\nc\n')
    out = tmp_path / 'cli'
    labelme.convert_labelme([str(labelme_dir / 'two.json')], str(out), 'head',
                            labelme.read_names(names_file=str(names)), spacing=[0.5],
                            image_mode='copy', val_fraction=0)
    coco = read_json(out / 'head_coco_train_annotations.json')
    assert coco['images'][0]['file_name'] == 'two.png'
    assert coco['images'][0]['spacing'] == [0.5, 0.5]
    assert (out / 'Images' / 'two.png').is_file() and not osp.islink(out / 'Images' / 'two.png')
    with pytest.raises(FileExistsError, match='Refusing to overwrite'):
        labelme.convert_labelme([str(labelme_dir)], str(out), 'head',
                                labelme.read_names('a,b,c'))


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


def _write_real_export_problems(labelme_dir):
    """What real annotation sessions contain, each to be reported per file and landmark."""
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


def _assert_problems_stop(message):
    assert "2 problem(s) in 1 LabelMe file(s)" in message
    assert "one.json: label 'a' is used 2 times, at (1, 2), (3, 4)" in message
    assert "one.json: label 'x' is not a landmark name" in message


def _assert_problems_skipped(printed, out):
    assert 'skipped 1 file(s):' in printed and "label 'a' is used 2 times" in printed
    assert "imagePath 'imgs/img_0002.png' does not resolve; using" in printed
    assert 'WARNING: 2 of 2 train image(s) have no pixel spacing' in printed
    coco = read_json(out / 'head_coco_train_annotations.json')
    assert [im['file_name'] for im in coco['images']] == ['three.tif', 'two.png']
    assert 'spacing_warning' in coco['info'] and coco['info']['skipped_files']
    assert coco['annotations'][0]['keypoints'][:3] == [1.0, 1.0, 2]
    from mmpose_medsapiens.fileio import probe_image, read_medical_image
    tif = str(out / 'Images' / 'three.tif')
    assert probe_image(tif) == (64, 48) and read_medical_image(tif).shape == (48, 64, 3)


def test_labelme_real_export_problems_all_reported_then_skipped(labelme_dir, tmp_path):
    _write_real_export_problems(labelme_dir)
    out = tmp_path / 'converted'

    def convert(**kwargs):
        report = {}
        paths = labelme.convert_labelme([str(labelme_dir)], str(out), 'head', ['a', 'b', 'c'],
                                        img_root=str(labelme_dir / 'imgs'), report=report,
                                        **kwargs)
        return '\n'.join(labelme.labelme_summary(paths, report))

    with pytest.raises(ValueError) as stop:
        convert()
    _assert_problems_stop(str(stop.value))
    assert not out.exists()
    # Both usable files stay in train (no validation draw) to be checked below.
    _assert_problems_skipped(convert(on_error='skip', val_fraction=0), out)


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
    coco = read_json(paths['train'])
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


def test_labelme_draws_a_validation_split_by_default(tmp_path):
    """A training run without --val-fraction / --val-count writes a seeded 10 % val split."""
    folder = tmp_path / 'lm'
    stems = [f'img{i:02d}' for i in range(20)]
    for i, stem in enumerate(stems):
        write_image(folder / 'imgs' / f'{stem}.png', 64, 48)
        _labelme(folder / f'{stem}.json', f'imgs/{stem}.png', [_point('a', i + 1, 2),
                                                               _point('b', 3, 4)])
    out = tmp_path / 'out'
    paths = labelme.convert_labelme([str(folder)], str(out), 'teeth', ['a', 'b'])
    assert sorted(paths) == ['train', 'val']
    assert paths['val'] == str(out / 'teeth_coco_val_annotations.json')
    train = [im['file_name'] for im in read_json(paths['train'])['images']]
    val = [im['file_name'] for im in read_json(paths['val'])['images']]
    assert DEFAULT_VAL_FRACTION == 0.1 and len(val) == 2 and len(train) == 18
    assert not set(train) & set(val) and sorted(train + val) == [f'{s}.png' for s in stems]
    assert read_json(paths['val'])['info']['validation_carved'] == dict(from_split='train',
                                                                        num_val=2, seed=0)
    # Seeded: the same files every run; another seed draws others.
    again = labelme.convert_labelme([str(folder)], str(tmp_path / 'again'), 'teeth', ['a', 'b'])
    assert [im['file_name'] for im in read_json(again['val'])['images']] == val
    other = labelme.convert_labelme([str(folder)], str(tmp_path / 'seed1'), 'teeth', ['a', 'b'],
                                    seed=1)
    assert [im['file_name'] for im in read_json(other['val'])['images']] != val
    # The dataset reads the drawn split where the configs look for it.
    assert osp.isfile(out / 'Images' / val[0])
    # --val-fraction 0 still means no validation split at all.
    none = labelme.convert_labelme([str(folder)], str(tmp_path / 'none'), 'teeth', ['a', 'b'],
                                   val_fraction=0)
    assert list(none) == ['train'] and len(read_json(none['train'])['images']) == 20
    assert not (tmp_path / 'none' / 'teeth_coco_val_annotations.json').exists()
    # One training file cannot give one up: said, with the way out.
    with pytest.raises(ValueError, match=r'needs two or more files, got 1; pass --val-fraction 0'):
        labelme.convert_labelme([str(folder / 'img00.json')], str(tmp_path / 'one'), 'teeth',
                                ['a', 'b'])
    # Test files are never drawn from.
    test = labelme.convert_labelme([str(folder)], str(tmp_path / 'test'), 'teeth', ['a', 'b'],
                                   split='test')
    assert list(test) == ['test']


@pytest.mark.slow
def test_labelme_command_line(labelme_dir, tmp_path):
    """Problems end the run with every one listed; --on-error skip prints them instead."""
    _write_real_export_problems(labelme_dir)
    names = tmp_path / 'names.txt'
    names.write_text('# landmark order\na\nb\n\nc\n')
    args = [labelme_dir, '--out-dir', 'converted', '--set', 'head', '--img-root',
            labelme_dir / 'imgs']
    proc = run_converter_tool('labelme_to_coco.py', args + ['--names', 'a,b,c'], cwd=tmp_path,
                              check=False)
    assert proc.returncode == 1 and proc.stderr.startswith('error: ')
    _assert_problems_stop(proc.stderr)
    assert not (tmp_path / 'converted').exists()
    proc = run_converter_tool('labelme_to_coco.py', args + [
        '--names-file', names, '--on-error', 'skip', '--val-fraction', '0'], cwd=tmp_path)
    _assert_problems_skipped(proc.stdout, tmp_path / 'converted')
    assert 'val' not in {line.split(':')[0] for line in proc.stdout.splitlines()}
