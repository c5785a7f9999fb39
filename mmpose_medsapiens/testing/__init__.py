"""Generated data and shared measurement helpers, for the demo, the benchmarks and the tests.

Every generated set writes its JSON through :func:`make_coco` / :func:`write_coco`
in the MedSapiens release layout (``Images/`` + ``<set>_coco_<split>_annotations.json``),
so generated files pass the same checks as converted ones.
"""
from .backbone_variants import (BACKBONE_VARIANTS, MMPRETRAIN_LORA, build_backbone_variant,
                                build_merge_variants, quiet_mmengine_logs)
from .benchmarking import (QUICK_ARCH, RESULT_MARKER, base_parser, check_detail, environment,
                           format_table, median, paired_ratio, peak_rss_mib, print_table,
                           report_result, run_check, run_worker, sync_device, time_alternating,
                           time_interleaved, write_json)
from .blank_sets import write_blank_landmark_set
from .cephalograms import (SYNTHETIC_CATEGORY_NAME, SYNTHETIC_LANDMARK_NAMES, SYNTHETIC_SET_NAME,
                           SYNTHETIC_SPACING_RANGE, draw_synthetic_sample,
                           generate_synthetic_dataset)
from .film_images import draw_film_like_image
from .leg_radiographs import (LEG_ANN_NAME, LEG_FULL_SIZE, LEG_SPACING_RANGE, draw_leg_radiograph,
                              write_leg_set)

__all__ = [
    'SYNTHETIC_CATEGORY_NAME', 'SYNTHETIC_LANDMARK_NAMES', 'SYNTHETIC_SET_NAME',
    'SYNTHETIC_SPACING_RANGE', 'draw_synthetic_sample', 'generate_synthetic_dataset',
    'LEG_ANN_NAME', 'LEG_FULL_SIZE', 'LEG_SPACING_RANGE', 'draw_leg_radiograph', 'write_leg_set',
    'write_blank_landmark_set', 'draw_film_like_image', 'BACKBONE_VARIANTS', 'MMPRETRAIN_LORA',
    'build_backbone_variant', 'build_merge_variants', 'quiet_mmengine_logs', 'QUICK_ARCH',
    'RESULT_MARKER', 'base_parser', 'check_detail', 'environment', 'format_table', 'median',
    'paired_ratio', 'peak_rss_mib', 'print_table', 'report_result', 'run_check', 'run_worker',
    'sync_device', 'time_alternating', 'time_interleaved', 'write_json'
]
