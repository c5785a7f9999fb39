"""Generated landmark data, for the demo, the benchmarks and the tests.

Everything here writes its JSON through :func:`make_coco` / :func:`write_coco`,
so generated files pass the same checks as converted ones.
"""
from .blank_sets import write_blank_landmark_set
from .cephalograms import (SYNTHETIC_CATEGORY_NAME, SYNTHETIC_LANDMARK_NAMES,
                           SYNTHETIC_SPACING_RANGE, draw_synthetic_sample,
                           generate_synthetic_dataset)
from .leg_radiographs import (LEG_ANN_NAME, LEG_FULL_SIZE, LEG_SPACING_RANGE,
                              draw_leg_radiograph, write_leg_set)

__all__ = [
    'SYNTHETIC_CATEGORY_NAME', 'SYNTHETIC_LANDMARK_NAMES', 'SYNTHETIC_SPACING_RANGE',
    'draw_synthetic_sample', 'generate_synthetic_dataset', 'LEG_ANN_NAME', 'LEG_FULL_SIZE',
    'LEG_SPACING_RANGE', 'draw_leg_radiograph', 'write_leg_set', 'write_blank_landmark_set'
]
