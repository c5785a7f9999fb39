"""setup.cfg declares version ranges; tools/constraints.txt pins inside them."""
import configparser
import os.path as osp
import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _lines(text: str) -> list:
    return [line.split('#')[0].strip() for line in text.splitlines()
            if line.split('#')[0].strip()]


def declared_requirements() -> dict:
    """``{distribution: Requirement}`` of setup.cfg's install_requires and extras."""
    cfg = configparser.ConfigParser()
    cfg.read(osp.join(REPO_ROOT, 'setup.cfg'))
    lines = _lines(cfg['options']['install_requires'])
    for extra in cfg['options.extras_require'].values():
        lines += _lines(extra)
    reqs = [Requirement(line) for line in lines]
    return {req.name.lower(): req for req in reqs}


def constraint_pins() -> dict:
    """``{distribution: version}`` of the exact ``==`` pins of tools/constraints.txt."""
    with open(osp.join(REPO_ROOT, 'tools', 'constraints.txt'), encoding='utf-8') as f:
        lines = _lines(f.read())
    pins = {}
    for line in lines:
        match = re.fullmatch(r'([A-Za-z0-9_.-]+)==([0-9][^ ]*)', line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_runtime_requirements_are_ranges_not_pins():
    # An exact pin would refuse an MMPose environment one patch release away.
    for name, req in declared_requirements().items():
        assert not any(spec.operator in ('==', '===') for spec in req.specifier), \
            f'setup.cfg pins {req} exactly; declare the range it works with'
    assert 'mmcv' in declared_requirements()


def test_every_constraint_pin_lies_inside_the_declared_range():
    declared = declared_requirements()
    pins = constraint_pins()
    assert {'mmengine', 'mmcv', 'mmpose', 'mmdet', 'mmpretrain'} <= set(pins)
    for name, version in pins.items():
        if name in declared:
            assert declared[name].specifier.contains(Version(version), prereleases=True), \
                f'tools/constraints.txt pins {name}=={version} outside {declared[name]}'


def test_mmcv_range_stops_below_what_mmdet_accepts():
    # mmdet 3.x asserts mmcv < 2.2.0 at import, and mmpose.models imports mmdet.
    assert not declared_requirements()['mmcv'].specifier.contains('2.2.0')


@pytest.mark.parametrize('name', ['torch', 'mmengine', 'mmcv', 'mmpose', 'mmdet', 'numpy'])
def test_this_environment_satisfies_the_declared_ranges(name):
    req = declared_requirements()[name]
    installed = Version(metadata.version(name)).base_version  # '2.4.0+cpu' -> '2.4.0'
    assert req.specifier.contains(installed, prereleases=True), \
        f'{name} {installed} installed, setup.cfg declares {req}'
