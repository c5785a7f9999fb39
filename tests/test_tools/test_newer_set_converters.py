"""Converters of the newer sets (Aariz, CL-Detection 2023, EchoNet-LVH), on fixtures
written in each release's own format (see each test's fixture for where it comes from)."""
import csv
import json

import cv2
import numpy as np
import pytest

from conftest import load_tool
from mmpose_medsapiens.datasets.cephalometric_datasets import AARIZ_LANDMARKS
from test_dataset_converters import _assert_release_layout, _read, _xy

aariz = load_tool('dataset_converters/aariz_to_coco.py')


# ---------------------------------------------------------------------- Aariz
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
    train = _read(paths['train'])
    assert [im['ceph_id'] for im in train['images']] == sorted(
        i for i, v in AARIZ_IMAGES.items() if v[0] == 'train')
    for image, ann in zip(train['images'], train['annotations']):
        _, _, machine, size, fmt, (w, h) = AARIZ_IMAGES[image['ceph_id']]
        assert image['spacing'] == [size, size] and image['machine'] == machine
        assert (image['width'], image['height']) == (w, h) and image['cvm_stage'] == 3
        assert image['file_name'] == f'{image["ceph_id"]}.{fmt}'
        mean = (_aariz_xy(image['ceph_id'], 'Senior Orthodontists') +
                _aariz_xy(image['ceph_id'], 'Junior Orthodontists')) / 2
        np.testing.assert_allclose(_xy(ann)[:, :2], mean)  # fractional, not rounded up
    assert train['info']['release_split'] == 'train'
    assert _read(paths['val'])['info']['release_split'] == 'valid'
    datasets = _assert_release_layout(out, 'aariz', 'sapiens_lora_aariz.py')
    cal = datasets['test'].get_data_info(0)['calibration']
    assert cal['spacing'] == (0.144, 0.144)
    assert [m['name'] for m in cal['measurements']] == ['SNA', 'SNB', 'ANB']


def test_aariz_senior_only(tmp_path):
    root = _write_aariz(tmp_path / 'Aariz')
    paths = aariz.convert_aariz(str(root), str(tmp_path / 'out'), ground_truth='senior')
    test = _read(paths['test'])
    np.testing.assert_allclose(_xy(test['annotations'][0])[:, :2],
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
    with pytest.raises(aariz.AarizFormatError, match=r'line 4 \(cl5lg05ug01be074ke6h6g4zi\): '
                                                      "pixel_size '' is not a positive"):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
    csv_path.write_text(text.replace(',Valid', ',Test'))
    with pytest.raises(aariz.AarizFormatError, match="in the valid/ folder but .* mode 'Test'"):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))
    csv_path.write_text('\n'.join(line for line in text.splitlines()
                                  if not line.startswith('cl5lg05uf019m')))
    with pytest.raises(aariz.AarizFormatError, match='cl5lg05uf019m074k8q27h7oy has no row'):
        aariz.convert_aariz(str(root), str(tmp_path / 'out'))


# -------------------------------------------------------------- CL-Detection 2023
# The challenge's training files as the official MMPose baseline reads them
# (szuboy/CL-Detection2023-MMPose step2_prepare_coco_dataset.py and
# cldetection_utils.py): a uint8 RGB stack (N, H, W, 3) zero-padded at the
# bottom/right, read with SimpleITK; train-gt.json "points" of
# {name: "1".."38", point: [x, y, image number], scale: spacing}.
cldet = load_tool('dataset_converters/cldetection2023_to_coco.py')
CL_SIZES = {1: (40, 30, 0.1), 2: (36, 34, 0.1), 3: (44, 28, 0.125), 4: (30, 30, 0.1),
            5: (38, 26, 0.1)}  # n -> (w, h, spacing) inside a 48 x 36 stack


def _cl_xy(n):
    w, h, _ = CL_SIZES[n]
    return np.random.default_rng(n).uniform([0, 0], [w - 1, h - 1], size=(38, 2)).round(2)


def _write_cldetection(root, points=None):
    import SimpleITK as sitk
    root.mkdir(parents=True, exist_ok=True)
    stack = np.zeros((len(CL_SIZES), 36, 48, 3), np.uint8)
    for n, (w, h, _) in CL_SIZES.items():
        stack[n - 1, :h, :w] = (n * 10, 100, 200)
    sitk.WriteImage(sitk.GetImageFromArray(stack, isVector=True), str(root / 'train_stack.mha'))
    if points is None:
        points = [dict(name=str(k + 1), point=[float(x), float(y), n], scale=CL_SIZES[n][2])
                  for n in CL_SIZES for k, (x, y) in enumerate(_cl_xy(n))]
    (root / 'train-gt.json').write_text(json.dumps(dict(points=points)))
    return str(root / 'train_stack.mha'), str(root / 'train-gt.json')


def test_cldetection_unpads_keeps_spacing_and_the_baseline_split(tmp_path):
    import random
    stack, gt = _write_cldetection(tmp_path / 'cl')
    out = tmp_path / 'out'
    paths = cldet.convert_cldetection2023(stack, gt, str(out), val_count=1, test_count=1)
    order = list(range(1, 6))
    random.seed(2023)
    random.shuffle(order)  # the baseline's own steps, restated
    got = {s: [im['id'] for im in _read(p)['images']] for s, p in paths.items()}
    assert got == dict(train=order[:3], val=order[3:4], test=order[4:])
    for split, path in paths.items():
        coco = _read(path)
        for image, ann in zip(coco['images'], coco['annotations']):
            n = image['id']
            w, h, spacing = CL_SIZES[n]
            assert (image['width'], image['height'], image['spacing']) == (w, h, [spacing] * 2)
            np.testing.assert_allclose(_xy(ann)[:, :2], _cl_xy(n))
            img = cv2.imread(str(out / 'Images' / f'{n}.png'))
            assert img.shape == (h, w, 3) and tuple(img[0, 0]) == (200, 100, n * 10)  # BGR
    datasets = _assert_release_layout(out, 'cldetection2023', 'sapiens_lora_cldetection2023.py')
    assert datasets['train'].get_data_info(0)['calibration']['radii'] == (2.0, 2.5, 3.0, 4.0)


def test_cldetection_a_landmark_in_the_padding_is_an_error(tmp_path):
    stack, gt = _write_cldetection(tmp_path / 'cl')
    data = json.loads(open(gt).read())
    bad = next(p for p in data['points'] if p['point'][2] == 3 and p['name'] == '7')
    bad['point'][0] = 45.0  # image 3 ends at x = 43; the stack is 48 wide
    open(gt, 'w').write(json.dumps(data))
    with pytest.raises(cldet.CLDetectionFormatError,
                       match=r'image 3: landmark\(s\) \[7\] .* lie in the zero padding; the image '
                             r'ends at 44x28 pixels'):
        cldet.convert_cldetection2023(stack, gt, str(tmp_path / 'out'), 1, 1)
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('edit,message', [
    (lambda pts: pts.pop(0), r'image 1: landmark\(s\) \[1\] missing'),
    (lambda pts: pts.append(dict(pts[0])), 'image 1: landmark 1 is given twice'),
    (lambda pts: pts[1].update(scale=0.2), 'image 1: two spacings, 0.1 and 0.2'),
    (lambda pts: pts[0].update(name='39'), "landmark name '39' is not 1..38"),
    (lambda pts: pts.extend(dict(p, point=[1, 1, 9]) for p in pts[:38]),
     r'image\(s\) \[9\] are not in the stack'),
])
def test_cldetection_ground_truth_errors(tmp_path, edit, message):
    stack, gt = _write_cldetection(tmp_path / 'cl')
    data = json.loads(open(gt).read())
    edit(data['points'])
    open(gt, 'w').write(json.dumps(data))
    with pytest.raises(cldet.CLDetectionFormatError, match=message):
        cldet.convert_cldetection2023(stack, gt, str(tmp_path / 'out'), 1, 1)


# ----------------------------------------------------------------- EchoNet-LVH
# MeasurementsList.csv with the release's columns (a leading unnamed index,
# HashedFileName, Calc, CalcValue, Frame, X1, X2, Y1, Y2, Frames, FPS, Width,
# Height, split, as zea's EchoNet-LVH test data writes them) and the videos
# under Batch1..Batch4/<HashedFileName>.avi.
echonet = load_tool('dataset_converters/echonet_lvh_to_coco.py')
FIELDS = ['', 'HashedFileName', 'Calc', 'CalcValue', 'Frame', 'X1', 'X2', 'Y1', 'Y2', 'Frames',
          'FPS', 'Width', 'Height', 'split']
W, H, FRAMES = 64, 48, 5
# video -> (batch, split, frame, x, top y, IVSd px, LVIDd px, LVPWd px, mm per px)
ECHO = {
    '0X1111111111111111': ('Batch1', 'train', 2, 30, 5, 8, 20, 6, 1.25),
    '0X2222222222222222': ('Batch2', 'val', 0, 20, 4, 10, 24, 8, 1.0),
    '0X3333333333333333': ('Batch1', 'test', 4, 40, 6, 6, 18, 9, 0.5),
}


def _echo_rows(video, spec, swap_ends=False):
    _, split, frame, x, y, *lengths, mm = spec
    rows, top = [], y
    for calc, length in zip(('IVSd', 'LVIDd', 'LVPWd'), lengths):
        y1, y2 = (top + length, top) if swap_ends else (top, top + length)
        rows.append({'HashedFileName': video, 'Calc': calc, 'CalcValue': length * mm / 10,
                     'Frame': frame, 'X1': x, 'X2': x, 'Y1': y1, 'Y2': y2, 'Frames': FRAMES,
                     'FPS': 30, 'Width': W, 'Height': H, 'split': split})
        top += length
    return rows


def _write_echonet(root, rows=None):
    root.mkdir(parents=True, exist_ok=True)
    for video, (batch, *_) in ECHO.items():
        (root / batch).mkdir(exist_ok=True)
        writer = cv2.VideoWriter(str(root / batch / f'{video}.avi'),
                                 cv2.VideoWriter_fourcc(*'MJPG'), 30, (W, H))
        for f in range(FRAMES):  # frame f is uniformly 40 * f + 20 bright
            writer.write(np.full((H, W, 3), 40 * f + 20, np.uint8))
        writer.release()
    if rows is None:
        rows = [r for v, spec in ECHO.items() for r in _echo_rows(v, spec, swap_ends=v[3] == '2')]
        # An end-systolic line (ignored) and a video without LVPWd (skipped).
        rows.append(dict(rows[0], Calc='LVIDs', CalcValue=9.9))
        rows += [dict(r, HashedFileName='0X4444444444444444') for r in rows[:2]]
    with open(root / 'MeasurementsList.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows([{'': i, **r} for i, r in enumerate(rows)])
    return root


def test_echonet_frames_landmarks_and_derived_spacing(tmp_path):
    root = _write_echonet(tmp_path / 'lvh')
    out = tmp_path / 'out'
    paths, skipped = echonet.convert_echonet_lvh(str(root), str(out))
    assert skipped == {'0X4444444444444444': 'no LVPWd line'}
    for split, path in paths.items():
        coco = _read(path)
        assert coco['info']['skipped'] == skipped
        (image, ), (ann, ) = coco['images'], coco['annotations']
        _, want_split, frame, x, y, a, b, c, mm = ECHO[image['video']]
        assert split == want_split and image['frame'] == frame
        assert image['spacing'] == pytest.approx([mm, mm])
        assert image['spacing_source'] == 'derived from CalcValue'
        # Down one vertical line, whichever end the clinician clicked first.
        np.testing.assert_allclose(_xy(ann)[:, :2], [[x, y], [x, y + a], [x, y + a + b],
                                                     [x, y + a + b + c]])
        png = cv2.imread(str(out / 'Images' / image['file_name']))
        assert png.shape == (H, W, 3) and abs(float(png.mean()) - (40 * frame + 20)) < 6
    datasets = _assert_release_layout(out, 'echonet_lvh', 'sapiens_lora_echonet_lvh.py')
    # The measurements on the ground truth give back the clinician's values.
    from mmpose_medsapiens.evaluation.functional import measure
    info = datasets['train'].get_data_info(0)
    values = measure(info['keypoints'][0], info['calibration']['measurements'],
                     info['calibration']['spacing'])
    _, _, _, _, _, a, b, c, mm = ECHO['0X1111111111111111']
    assert (values['IVSd'], values['LVIDd'], values['LVPWd']) == pytest.approx(
        (a * mm, b * mm, c * mm))


@pytest.mark.parametrize('change,message', [
    (lambda rows: rows[0].update(Frame=7), None),
    (lambda rows: rows[1].update(CalcValue=5.0), r'different spacings .*check --calc-unit'),
    (lambda rows: [r.update(Width=100) for r in rows[:3]], r'frames are 64x48, .* says 100x48'),
    (lambda rows: rows.append(dict(rows[0])), 'has a second IVSd line'),
    (lambda rows: rows[0].update(split='dev'), "split 'dev' is not one of"),
])
def test_echonet_errors_name_the_video(tmp_path, change, message):
    rows = [r for v, spec in ECHO.items() for r in _echo_rows(v, spec)]
    if message is None:  # the frame outside the video: all three lines on frame 7
        for r in rows[:3]:
            r.update(Frame=7)
        message = r'0X1111111111111111\): frame 7 is outside the video \(frames 0\.\.4\)'
    else:
        change(rows)
    root = _write_echonet(tmp_path / 'lvh', rows)
    with pytest.raises(echonet.EchoNetFormatError, match=message):
        echonet.convert_echonet_lvh(str(root), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()
