"""The Aariz reader on a fixture written in the release's own format."""
import csv
import json

import cv2
import numpy as np
import pytest
from converter_test_utils import assert_release_layout, keypoints_xyv, read_json

from mmpose_medsapiens.conversion.readers import aariz
from mmpose_medsapiens.datasets.cephalometric_datasets import AARIZ_LANDMARKS

# The Figshare archive's layout and keys: lowercase split folders, the machine
# mapping CSV's columns, per-image JSON {ceph_id, landmarks: [{title, symbol,
# value: {x, y}}]} in the author code's landmark order, CVM {cvm_stage: {value}}
# (manwaarkhd/aariz-cephalometric-dataset dataset.py / config.py, and the
# release audits quoting the archive). Ids in the release's style.
AARIZ_IMAGES = {  # id -> (split folder, CSV mode, machine, pixel size, format, (w, h))
    'cks2ip8fq2a0j0yufdfssbc09': ('train', 'Train', 'ART Plus', 0.1, 'png', (60, 50)),
    'cl5lg05uf019m074k8q27h7oy': ('train', 'Train', 'Hyperion X5', 0.089, 'jpg', (70, 40)),
    'cl5lg05ug01be074ke6h6g4zi': ('valid', 'Valid', 'Rotograph EVO', 0.135, 'bmp', (64, 48)),
    'cl5lg05ul01g6074k007y5xhr': ('test', 'Test', 'Veraviewepocs 2D', 0.144, 'jpeg', (66, 52)),
}


def _aariz_xy(ceph_id, who):
    seed = sum(map(ord, ceph_id)) + (0 if who == 'Senior Orthodontists' else 1)
    w, h = AARIZ_IMAGES[ceph_id][5]
    return np.random.default_rng(seed).uniform([2, 2], [w - 3, h - 3], size=(29, 2)).round(1)


def _write_aariz(root, order=None):
    rows = []
    for ceph_id, (folder, mode, machine, size, fmt, (w, h)) in AARIZ_IMAGES.items():
        rows.append(dict(cephalogram_id=ceph_id, machine=machine, pixel_size=size,
                         image_format=fmt, mode=mode))
        split = root / folder
        (split / 'Cephalograms').mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(split / 'Cephalograms' / f'{ceph_id}.{fmt}'),
                           np.full((h, w, 3), 90, np.uint8))
        for who in ('Senior Orthodontists', 'Junior Orthodontists'):
            ann = split / 'Annotations' / 'Cephalometric Landmarks' / who
            ann.mkdir(parents=True, exist_ok=True)
            xy = _aariz_xy(ceph_id, who)
            entries = [dict(title=title, symbol=symbol, value=dict(x=float(x), y=float(y)))
                       for (symbol, title, _), (x, y) in zip(AARIZ_LANDMARKS, xy)]
            if order is not None:
                entries = [entries[i] for i in order]
            (ann / f'{ceph_id}.json').write_text(json.dumps(dict(ceph_id=ceph_id,
                                                                 landmarks=entries)))
        cvm = split / 'Annotations' / 'CVM Stages'
        cvm.mkdir(parents=True, exist_ok=True)
        (cvm / f'{ceph_id}.json').write_text(json.dumps(dict(cvm_stage=dict(value=3))))
    with open(root / 'cephalogram_machine_mappings.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_aariz_joins_by_symbol_and_keeps_spacing_machine_and_cvm(tmp_path):
    # The landmark list in reverse order: joining by position would swap them.
    root = _write_aariz(tmp_path / 'Aariz', order=list(range(28, -1, -1)))
    out = tmp_path / 'out'
    paths = aariz.convert_aariz(str(root), str(out))
    assert sorted(paths) == ['test', 'train', 'val']
    train = read_json(paths['train'])
    assert [im['ceph_id'] for im in train['images']] == sorted(
        i for i, v in AARIZ_IMAGES.items() if v[0] == 'train')
    for image, ann in zip(train['images'], train['annotations']):
        _, _, machine, size, fmt, (w, h) = AARIZ_IMAGES[image['ceph_id']]
        assert image['spacing'] == [size, size] and image['machine'] == machine
        assert (image['width'], image['height']) == (w, h) and image['cvm_stage'] == 3
        assert image['file_name'] == f'{image["ceph_id"]}.{fmt}'
        mean = (_aariz_xy(image['ceph_id'], 'Senior Orthodontists') +
                _aariz_xy(image['ceph_id'], 'Junior Orthodontists')) / 2
        np.testing.assert_allclose(keypoints_xyv(ann)[:, :2], mean)  # fractional, not rounded up
    assert train['info']['release_split'] == 'train'
    assert read_json(paths['val'])['info']['release_split'] == 'valid'
    datasets = assert_release_layout(out, 'aariz', 'sapiens_lora_aariz.py')
    cal = datasets['test'].get_data_info(0)['calibration']
    assert cal['spacing'] == (0.144, 0.144)
    assert [m['name'] for m in cal['measurements']] == ['SNA', 'SNB', 'ANB']


def test_aariz_senior_only(tmp_path):
    root = _write_aariz(tmp_path / 'Aariz')
    paths = aariz.convert_aariz(str(root), str(tmp_path / 'out'), ground_truth='senior')
    test = read_json(paths['test'])
    np.testing.assert_allclose(keypoints_xyv(test['annotations'][0])[:, :2],
                               _aariz_xy(test['images'][0]['ceph_id'], 'Senior Orthodontists'))


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize('edit,message', [
    (lambda d: d['landmarks'].pop(3), r"landmark\(s\) \['Me'\] are missing"),
    (lambda d: d['landmarks'][0].update(symbol='Q'), "unknown landmark symbol 'Q'"),
    (lambda d: d['landmarks'][1].update(title='Nasion'), "'ANS' has title 'Nasion'"),
    (lambda d: d['landmarks'][2]['value'].pop('y'), "'B' has no numeric value"),
    (lambda d: d.update(ceph_id='other'), "ceph_id is 'other'"),
])
def test_aariz_annotation_errors_name_the_file(tmp_path, edit, message):
    root = _write_aariz(tmp_path / 'Aariz')
    path = (root / 'valid' / 'Annotations' / 'Cephalometric Landmarks' /
            'Junior Orthodontists' / 'cl5lg05ug01be074ke6h6g4zi.json')
    _edit_json(path, edit)
    with pytest.raises(aariz.AarizFormatError, match=message) as err:
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
    assert str(path) in str(err.value)
    assert not (tmp_path / 'out').exists()  # nothing half-written


def test_aariz_csv_errors(tmp_path):
    root = _write_aariz(tmp_path / 'Aariz')
    csv_path = root / 'cephalogram_machine_mappings.csv'
    text = csv_path.read_text()
    csv_path.write_text(text.replace(',0.135,', ',,'))
    with pytest.raises(aariz.AarizFormatError,
                       match=r'line 4 \(cl5lg05ug01be074ke6h6g4zi\): '
                       "pixel_size '' is not a positive"):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
    csv_path.write_text(text.replace(',Valid', ',Test'))
    with pytest.raises(aariz.AarizFormatError, match="in the valid/ folder but .* mode 'Test'"):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
    csv_path.write_text('\n'.join(line for line in text.splitlines()
                                  if not line.startswith('cl5lg05uf019m')))
    with pytest.raises(aariz.AarizFormatError, match='cl5lg05uf019m074k8q27h7oy has no row'):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
