"""Each dataset class's error rule, asked for as the tools ask for it."""
import json

import pytest

from mmpose_medsapiens.datasets import (ChestXrayDataset, DatasetFormatError, DentalCBCTDataset,
                                        HandXrayDataset, ISBI2015HeadDataset, LegXrayDataset,
                                        MedicalLandmarkDataset)
from mmpose_medsapiens.evaluation.functional import Calibration, spacing_xy

IMG = dict(id=7, width=1024, height=2048)
# The head set's measurements with the ISBI indices worked out by hand
# (0 sella, 1 nasion, 4 subspinale, 5 supramentale, 7 menton, 8 gnathion, 9 gonion).
HEAD_MEASUREMENTS = (
    dict(name='SNA', kind='angle', landmarks=(0, 1, 4)),
    dict(name='SNB', kind='angle', landmarks=(0, 1, 5)),
    dict(name='ANB', kind='difference', terms=('SNA', 'SNB')),
    dict(name='FMA', kind='line_angle', landmarks=(0, 1, 9, 8)),
    dict(name='PFH', kind='distance', landmarks=(0, 9)),
    dict(name='AFH', kind='distance', landmarks=(1, 7)),
)


@pytest.mark.parametrize('cls,expected', [
    (ISBI2015HeadDataset, Calibration((0.1, 0.1), 'mm', None, (2, 2.5, 3, 4), HEAD_MEASUREMENTS)),
    (HandXrayDataset, Calibration((1, 1), 'mm', dict(pair=(1, 5), distance=50), (2, 4, 10))),
    (ChestXrayDataset, Calibration((0.5, 0.25), 'px@512', None, (3, 6, 9))),
    (DentalCBCTDataset, Calibration((0.18, 0.18), 'mm', None, (0.5, 1, 2))),
])
def test_class_rules_without_an_annotation_file(cls, expected):
    assert cls.for_calibration().calibration(IMG) == expected
    # The entry's own spacing wins (chest derives it from the size instead).
    own = cls.for_calibration().calibration(dict(IMG, spacing=[0.2, 0.3]))
    assert own.spacing == ((0.5, 0.25) if cls is ChestXrayDataset else (0.2, 0.3))


def test_leg_rule_reads_the_meta_file(tmp_path):
    (tmp_path / 'leg_meta_json').mkdir()
    (tmp_path / 'leg_meta_json' / '7_meta.json').write_text(json.dumps(
        dict(ID='7', spacing=[0.139, 0.155], gt=[], original_shape=[2048, 1024])))
    rule = LegXrayDataset.for_calibration(data_root=str(tmp_path)).calibration(IMG)
    assert rule.spacing == (0.155, 0.139) and rule.radii == (2, 4, 10)  # (row, col) reversed
    with pytest.raises(DatasetFormatError, match='image id 8: .*no meta file'):
        LegXrayDataset.for_calibration(data_root=str(tmp_path)).calibration(dict(IMG, id=8))


def test_missing_or_invalid_spacing_is_named():
    with pytest.raises(DatasetFormatError, match='image id 7: no pixel spacing'):
        MedicalLandmarkDataset.for_calibration().calibration(IMG)
    with pytest.raises(DatasetFormatError, match=r'image id 7: invalid pixel spacing \(0.0'):
        MedicalLandmarkDataset.for_calibration().calibration(dict(IMG, spacing=0))
    rule = MedicalLandmarkDataset.for_calibration(spacing=0.2).calibration(IMG)
    assert rule.as_dict() == dict(spacing=(0.2, 0.2), unit='mm', normalize=None,
                                  radii=(2.0, 2.5, 3.0, 4.0), measurements=())


def test_calibration_values_are_checked():
    assert spacing_xy(0.1) == (0.1, 0.1) and spacing_xy([1, 2]) == (1.0, 2.0)
    with pytest.raises(ValueError, match='number or'):
        spacing_xy([1, 2, 3])
    with pytest.raises(ValueError, match='radii'):
        Calibration((1, 1), radii=(0, 2))
    with pytest.raises(ValueError, match='normalize'):
        Calibration((1, 1), normalize=dict(pair=(1, 5)))
