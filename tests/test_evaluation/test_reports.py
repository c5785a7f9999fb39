"""Tables, worst images and JSON of ``evaluation.reports`` on hand-made results."""
import json

import numpy as np
import pytest

from mmpose_medsapiens.evaluation.reports import (per_image_records, per_image_rows,
                                                  per_landmark_rows, worst_images, write_json)


def result(img_id, errors, dataset='a', unit='mm', radii=(2.0, )):
    errors = np.asarray(errors, np.float64)
    return dict(img_id=img_id, img_path=f'{img_id}.png', dataset_name=dataset, unit=unit,
                radii=radii, errors=errors, pred=np.zeros((len(errors), 2)),
                gt=np.ones((len(errors), 2)), measurements={})


RESULTS = [result(1, [1.0, 3.0]), result(2, [np.nan, np.nan]), result(3, [2.0, np.nan]),
           result(4, [5.0, 1.0], dataset='b', unit='px', radii=(3.0, ))]


def test_per_landmark_rows_leave_out_invisible_landmarks_and_use_each_dataset_radii():
    rows = per_landmark_rows(RESULTS, names={'a': ['x', 'y']})
    assert [(r['dataset'], r['landmark'], r['name'], r['count']) for r in rows] == [
        ('a', 0, 'x', 2), ('a', 1, 'y', 1), ('b', 0, '', 1), ('b', 1, '', 1)]
    assert [r['MRE'] for r in rows] == pytest.approx([1.5, 3.0, 5.0, 1.0])
    assert rows[0]['SDR_2'] == pytest.approx(50.0)  # strict: 2.0 is no success
    assert per_landmark_rows(RESULTS[:1], inclusive=True, radii=[3])[1]['SDR_3'] == 100.0
    assert 'SDR_3' in rows[2] and 'SDR_2' not in rows[2]


def test_worst_images_rank_within_each_dataset_and_skip_images_without_truth():
    worst = worst_images(per_image_rows(RESULTS), 5)
    assert [(w['dataset'], w['img_id'], w['rank']) for w in worst] == [
        ('a', 1, 1), ('a', 3, 2), ('b', 4, 1)]
    assert worst[1]['errors'] == [2.0, None] and worst[0]['worst_landmark'] == 1
    assert worst_images(per_image_rows(RESULTS), 0) == []


def test_json_of_numpy_scalars_and_nan(tmp_path):
    path = str(tmp_path / 'out.json')
    write_json(path, dict(a=np.float32(1.5), b=float('nan'), c=[np.int64(3), float('inf')]))
    with open(path) as f:
        assert json.load(f) == dict(a=1.5, b=None, c=[3, None])
    record = per_image_records(RESULTS[2:3])[0]
    assert record['errors'] == [2.0, None] and 'spread_px' not in record
    assert json.loads(json.dumps(record))['gt'] == [[1.0, 1.0], [1.0, 1.0]]
