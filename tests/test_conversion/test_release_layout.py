"""Where converters put their output: the layout the configs read."""
import os
import os.path as osp

import pytest

from mmpose_medsapiens.conversion.release_layout import (annotation_file, carve_validation,
                                                         place_images, release_image_names,
                                                         validation_count, write_release)


def test_annotation_file_names_what_the_configs_read(tmp_path):
    assert annotation_file(str(tmp_path), 'hand', 'val') == \
        str(tmp_path / 'hand_coco_val_annotations.json')


def test_carve_validation_is_seeded_and_keeps_order():
    ids = list(range(100, 120))
    train, val = carve_validation(ids, 5, seed=0)
    assert len(val) == 5 and sorted(train + val) == ids
    assert train == sorted(train) and val == sorted(val)  # order of ids kept
    assert carve_validation(ids, 5, seed=0) == (train, val)
    assert carve_validation(ids, 5, seed=1)[1] != val
    # RandomState streams are stable across numpy versions: the draw is pinned, since a
    # change of the rule would change every converted split.
    assert val == [101, 108, 110, 118, 119]
    assert carve_validation(ids, 0) == (ids, [])
    for bad in (-1, 20):
        with pytest.raises(ValueError, match=f'Cannot carve {bad} validation'):
            carve_validation(ids, bad)


def test_validation_count_from_fraction_or_count():
    assert validation_count(91, val_fraction=0.1) == 9
    assert validation_count(3, val_fraction=0.1) == 1  # at least one when asked for
    assert validation_count(91, val_count=4) == 4
    assert validation_count(91) == 0
    with pytest.raises(ValueError, match='not both'):
        validation_count(91, 0.1, 4)
    with pytest.raises(ValueError, match=r'\[0, 1\)'):
        validation_count(91, val_fraction=1.0)


def _file(path, data=b'img'):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def test_image_names_must_be_unique(tmp_path):
    a, b = _file(tmp_path / 'a' / 'x.png'), _file(tmp_path / 'b' / 'x.png')
    assert release_image_names([a, a]) == {a: 'x.png'}
    with pytest.raises(ValueError, match=r'Images/x\.png: .*a/x\.png and .*b/x\.png'):
        release_image_names([a, b])


@pytest.mark.parametrize('mode', ['symlink', 'copy'])
def test_place_images_is_idempotent_and_never_replaces_other_files(tmp_path, mode):
    src = _file(tmp_path / 'src' / 'x.png', b'pixels')
    names = release_image_names([src])
    out = tmp_path / 'out'
    assert place_images(str(out), names, mode) == 1
    dst = out / 'Images' / 'x.png'
    assert dst.read_bytes() == b'pixels' and osp.islink(dst) == (mode == 'symlink')
    assert place_images(str(out), names, mode) == 0  # a second run places nothing
    os.remove(dst)
    _file(dst, b'someone else')
    with pytest.raises(FileExistsError, match=r'x\.png'):
        place_images(str(out), names, mode)
    assert dst.read_bytes() == b'someone else'
    assert place_images(str(out), names, mode, overwrite=True) == 1
    assert dst.read_bytes() == b'pixels'


def test_write_release_checks_every_target_before_writing(tmp_path):
    from mmpose_medsapiens.conversion.coco_landmarks import make_coco
    src = _file(tmp_path / 'src' / 'x.png')
    names = release_image_names([src])
    coco = make_coco([dict(id=1, file_name='x.png', width=10, height=10)], [[[1, 1]]], 'c', ['p'])
    out = tmp_path / 'out'
    _file(out / 'set_coco_test_annotations.json', b'mine')
    with pytest.raises(FileExistsError, match='set_coco_test'):
        write_release(str(out), 'set', dict(train=coco, test=coco), names)
    assert sorted(os.listdir(out)) == ['set_coco_test_annotations.json']  # no Images/, no train
    paths = write_release(str(out), 'set', dict(train=coco), names)
    assert paths == dict(train=str(out / 'set_coco_train_annotations.json'))
    assert osp.samefile(out / 'Images' / 'x.png', src)
