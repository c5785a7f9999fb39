"""The scripts in tools/dataset_converters/ start from any folder, as a user runs them.

They import the installed package (no path set-up of their own); what each
converts is tested in ``test_readers_*.py`` and its command line there too.
"""
import os

import pytest
from converter_test_utils import CONVERTERS_DIR, run_converter_tool

SCRIPTS = ('aariz_to_coco.py', 'build_working_resolution_cache.py', 'cldetection2023_to_coco.py',
           'echonet_lvh_to_coco.py', 'gu2net_chest_to_coco.py', 'isbi2015_to_coco.py',
           'labelme_to_coco.py', 'payer_hand_to_coco.py')


def test_every_script_is_listed():
    assert sorted(n for n in os.listdir(CONVERTERS_DIR) if n.endswith('.py')) == list(SCRIPTS)


# The other five run for real from a temporary folder in their own tests
# (test_readers_*.py, test_working_resolution_cache_config.py): one process each is enough.
RUN_ELSEWHERE = ('build_working_resolution_cache.py', 'gu2net_chest_to_coco.py',
                 'isbi2015_to_coco.py', 'labelme_to_coco.py', 'payer_hand_to_coco.py')


@pytest.mark.slow
@pytest.mark.parametrize('script', [s for s in SCRIPTS if s not in RUN_ELSEWHERE])
def test_help_from_another_folder(script, tmp_path):
    proc = run_converter_tool(script, ['--help'], cwd=tmp_path)
    assert proc.stdout.startswith('usage: ')
