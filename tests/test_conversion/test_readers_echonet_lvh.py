"""The EchoNet-LVH reader on a fixture written in the release's own format."""
import csv

import cv2
import numpy as np
import pytest
from converter_test_utils import assert_release_layout, keypoints_xyv, read_json

from mmpose_medsapiens.conversion.readers import echonet_lvh as echonet

# MeasurementsList.csv with the release's columns (a leading unnamed index,
# HashedFileName, Calc, CalcValue, Frame, X1, X2, Y1, Y2, Frames, FPS, Width,
# Height, split, as zea's EchoNet-LVH test data writes them) and the videos
# under Batch1..Batch4/<HashedFileName>.avi.
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
        coco = read_json(path)
        assert coco['info']['skipped'] == skipped
        (image, ), (ann, ) = coco['images'], coco['annotations']
        _, want_split, frame, x, y, a, b, c, mm = ECHO[image['video']]
        assert split == want_split and image['frame'] == frame
        assert image['spacing'] == pytest.approx([mm, mm])
        assert image['spacing_source'] == 'derived from CalcValue'
        # Down one vertical line, whichever end the clinician clicked first.
        np.testing.assert_allclose(keypoints_xyv(ann)[:, :2],
                                   [[x, y], [x, y + a], [x, y + a + b], [x, y + a + b + c]])
        png = cv2.imread(str(out / 'Images' / image['file_name']))
        assert png.shape == (H, W, 3) and abs(float(png.mean()) - (40 * frame + 20)) < 6
    datasets = assert_release_layout(out, 'echonet_lvh', 'sapiens_lora_echonet_lvh.py')
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
