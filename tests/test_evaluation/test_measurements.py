"""Clinical measurements: geometry checked on shapes whose answers are known by hand."""
import math

import numpy as np
import pytest

from mmpose_medsapiens.datasets import DatasetFormatError, EchoNetLVHDataset, ISBI2015HeadDataset
from mmpose_medsapiens.evaluation.functional import measure, resolve_measurements
from mmpose_medsapiens.testing import write_blank_landmark_set

NAMES = ('a', 'b', 'c', 'd')
SPECS = resolve_measurements([
    dict(name='ab', distance=('a', 'b')),
    dict(name='bc', distance=('b', 'c')),
    dict(name='ac', distance=('a', 'c')),
    dict(name='at_b', angle=('a', 'b', 'c')),
    dict(name='at_a', angle=('b', 'a', 'c')),
    dict(name='lines', line_angle=(('a', 'b'), ('c', 'd'))),
    dict(name='at_b_minus_at_a', difference=('at_b', 'at_a')),
], NAMES)
# A 3-4-5 right triangle with the right angle at b, and d off the line b-c.
TRIANGLE = np.array([[0.0, 3.0], [0.0, 0.0], [4.0, 0.0], [5.0, 1.0]])


def test_resolved_specs_use_indices_in_declaration_order():
    assert SPECS[0] == dict(name='ab', kind='distance', landmarks=(0, 1))
    assert SPECS[3] == dict(name='at_b', kind='angle', landmarks=(0, 1, 2))
    assert SPECS[5] == dict(name='lines', kind='line_angle', landmarks=(0, 1, 2, 3))
    assert SPECS[6] == dict(name='at_b_minus_at_a', kind='difference', terms=('at_b', 'at_a'))


def test_three_four_five_triangle():
    v = measure(TRIANGLE, SPECS, spacing=(1.0, 1.0))
    assert v['ab'] == pytest.approx(3) and v['bc'] == pytest.approx(4)
    assert v['ac'] == pytest.approx(5)
    assert v['at_b'] == pytest.approx(90)
    assert v['at_a'] == pytest.approx(math.degrees(math.atan2(4, 3)))  # 53.13 degrees
    # Line a-b is vertical, c-d rises at 45 degrees: 45 between them.
    assert v['lines'] == pytest.approx(45)
    assert v['at_b_minus_at_a'] == pytest.approx(90 - math.degrees(math.atan2(4, 3)))


def test_spacing_and_normalisation_scale_distances_angles_in_physical_space():
    v = measure(TRIANGLE, SPECS, spacing=(0.5, 0.5), factor=2.0)
    assert v['ac'] == pytest.approx(5) and v['at_b'] == pytest.approx(90)
    # Anisotropic pixels: x counts double, so c is 8 units from b and the
    # hypotenuse sqrt(3^2 + 8^2); the angle at a becomes atan(8 / 3).
    v = measure(TRIANGLE, SPECS, spacing=(2.0, 1.0))
    assert v['ac'] == pytest.approx(math.hypot(3, 8))
    assert v['at_a'] == pytest.approx(math.degrees(math.atan2(8, 3)))
    assert v['at_b'] == pytest.approx(90)


def test_line_angle_is_the_acute_angle_whatever_the_directions():
    specs = resolve_measurements([dict(name='x', line_angle=(('a', 'b'), ('c', 'd')))], NAMES)
    # Lines at 120 degrees to each other read 60; reversing one line changes nothing.
    end = [math.cos(math.radians(120)), math.sin(math.radians(120))]
    p = np.array([[0, 0], [1, 0], [0, 0], end])
    assert measure(p, specs, (1, 1))['x'] == pytest.approx(60)
    assert measure(p[[1, 0, 2, 3]], specs, (1, 1))['x'] == pytest.approx(60)
    parallel = np.array([[0, 0], [2, 1], [5, 5], [9, 7]])
    assert measure(parallel, specs, (1, 1))['x'] == pytest.approx(0, abs=1e-6)


def test_invisible_or_coinciding_landmarks_give_nan():
    v = measure(TRIANGLE, SPECS, (1, 1), visible=np.array([1, 1, 0, 1]))
    assert v['ab'] == pytest.approx(3)
    assert all(math.isnan(v[k]) for k in ('bc', 'ac', 'at_b', 'at_a', 'lines',
                                          'at_b_minus_at_a'))
    same = TRIANGLE.copy()
    same[0] = same[1]
    assert math.isnan(measure(same, SPECS, (1, 1))['at_b'])


@pytest.mark.parametrize('spec,message', [
    (dict(name='x', distance=('a', 'nope')), r'"x" names unknown landmark\(s\) \[\'nope\'\]'),
    (dict(name='x', angle=('a', 'b')), 'angle needs 3 landmarks'),
    (dict(name='x', line_angle=('a', 'b')), 'line_angle needs two lines'),
    (dict(name='x', difference=('ab', 'later')), 'two measurements declared before it'),
    (dict(name='x', difference=('ab', 'at_b')), 'not of one unit'),
    (dict(name='x', distance=('a', 'b'), angle=('a', 'b', 'c')), 'exactly one of'),
    (dict(distance=('a', 'b')), 'has no "name"'),
    (dict(name='ab', distance=('a', 'c')), '"ab" is declared twice'),
])
def test_bad_declarations_are_named(spec, message):
    base = [dict(name='ab', distance=('a', 'b')), dict(name='at_b', angle=('a', 'b', 'c'))]
    with pytest.raises(ValueError, match=message) as err:
        resolve_measurements(base + [spec], NAMES, where='my.json')
    assert str(err.value).startswith('my.json: ')


def test_a_dataset_with_an_unknown_measurement_landmark_fails_at_build(tmp_path):
    write_blank_landmark_set(tmp_path, 19, [(60, 80)], spacing=[0.1, 0.1])
    with pytest.raises(DatasetFormatError, match=r'ann\.json, image id 1: .*"SNX" names unknown '
                                                 r"landmark\(s\) \['sellaa'\]"):
        ISBI2015HeadDataset(data_root=str(tmp_path), ann_file='ann.json',
                            data_prefix=dict(img='Images/'),
                            measurements=[dict(name='SNX', angle=('sellaa', 'nasion', 'gonion'))])


def test_shipped_declarations_measure_what_they_name():
    # Head: S at the origin, N 70 mm to the right; A and B below N at the
    # angles SNA = 80 and SNB = 77 degrees: ANB = 3.
    head = ISBI2015HeadDataset.for_calibration().resolved_measurements()
    pts = np.zeros((19, 2))
    n = np.array([700.0, 0.0])  # 0.1 mm pixels
    pts[1] = n
    for index, deg in ((4, 80.0), (5, 77.0)):
        pts[index] = n + 300 * np.array([-math.cos(math.radians(deg)),
                                         math.sin(math.radians(deg))])
    pts[9], pts[8] = [100, 800], [700, 1100]  # gonion, gnathion
    pts[7] = [700, 1200]  # menton straight below nasion: AFH = 120 mm
    v = measure(pts, head, spacing=(0.1, 0.1))
    assert v['SNA'] == pytest.approx(80) and v['SNB'] == pytest.approx(77)
    assert v['ANB'] == pytest.approx(3)
    assert v['FMA'] == pytest.approx(math.degrees(math.atan2(300, 600)))
    assert v['PFH'] == pytest.approx(math.hypot(10, 80))
    assert v['AFH'] == pytest.approx(120)
    # Echo: four points down one vertical line, 10 / 45 / 9 mm apart at 0.2 mm/px.
    echo = EchoNetLVHDataset.for_calibration().resolved_measurements()
    line = np.array([[300, 100], [300, 150], [300, 375], [300, 420]], float)
    v = measure(line, echo, spacing=(0.2, 0.2))
    assert (v['IVSd'], v['LVIDd'], v['LVPWd']) == pytest.approx((10, 45, 9))


LANDMARK_SETS = ('ISBI2015HeadDataset', 'HandXrayDataset', 'ChestXrayDataset', 'LegXrayDataset',
                 'DentalCBCTDataset', 'AarizDataset', 'CLDetection2023Dataset',
                 'EchoNetLVHDataset', 'SyntheticCephDataset')


@pytest.mark.parametrize('dataset_type', LANDMARK_SETS)
def test_every_set_takes_num_shots_and_resolves_its_measurements(dataset_type, tmp_path):
    from mmpose.registry import DATASETS
    cls = DATASETS.get(dataset_type)
    k = len(cls.METAINFO['keypoint_info'])
    write_blank_landmark_set(tmp_path, k, [(60, 80)] * 5, spacing=[0.1, 0.1])
    kwargs = dict(data_root=str(tmp_path), ann_file='ann.json', data_prefix=dict(img='Images/'))
    if dataset_type == 'LegXrayDataset':
        (tmp_path / 'leg_meta_json').mkdir()
    picked = cls(num_shots=2, shot_seed=1, **kwargs)
    assert len(picked) == 2
    again = cls(num_shots=2, shot_seed=1, **kwargs)
    assert [picked.get_data_info(i)['img_id'] for i in range(2)] == \
        [again.get_data_info(i)['img_id'] for i in range(2)]
    declared = [m['name'] for m in cls.MEASUREMENTS]
    assert [m['name'] for m in picked.get_data_info(0)['calibration']['measurements']] == declared
