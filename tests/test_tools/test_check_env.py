"""tools/check_env.py: pins for what this project installs, any working version
of what a base environment provides (--allow-provided, the GPU image case)."""
import importlib.util
import os.path as osp
import subprocess
import sys
import types

import pytest
from conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'check_env.py')


@pytest.fixture
def check_env():
    spec = importlib.util.spec_from_file_location('check_env_under_test', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_module(monkeypatch, name, version, path):
    mod = types.ModuleType(name)
    mod.__version__ = version
    mod.__file__ = path
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def test_provided_by_base_means_installed_outside_sys_prefix(check_env, tmp_path):
    inside = types.ModuleType('inside')
    inside.__file__ = osp.join(sys.prefix, 'lib', 'site-packages', 'inside', '__init__.py')
    outside = types.ModuleType('outside')
    outside.__file__ = str(tmp_path / 'site-packages' / 'outside' / '__init__.py')
    assert not check_env.provided_by_base(inside)
    assert check_env.provided_by_base(outside)
    assert not check_env.provided_by_base(types.ModuleType('no_file'))


def test_allow_provided_relaxes_only_the_base_environments_packages(check_env, monkeypatch,
                                                                    tmp_path):
    # A numpy-2-like base package and an OpenMMLab-like package of this env,
    # both at versions their pins reject.
    _fake_module(monkeypatch, 'fake_base_numpy', '2.5.2', str(tmp_path / 'fake_base_numpy.py'))
    _fake_module(monkeypatch, 'fake_own_mmcv', '2.2.0', osp.join(sys.prefix, 'fake_own_mmcv.py'))
    monkeypatch.setattr(check_env, 'required',
                        lambda: [('fake_base_numpy', '<2', None),
                                 ('fake_own_mmcv', '==2.1.0', None)])

    def fakes(problems):
        return sorted(p.split(':')[0] for p in problems if p.startswith('fake_'))

    # Strict by default (the `make setup` environment): both are wrong.
    problems, versions = check_env.check()
    assert fakes(problems) == ['fake_base_numpy', 'fake_own_mmcv']
    # Provided by the base: accepted at its version and marked as such;
    # installed here: still pinned.
    problems, versions = check_env.check(allow_provided=True)
    assert fakes(problems) == ['fake_own_mmcv']
    assert versions['fake_base_numpy'] == '2.5.2 (provided)'
    assert versions['fake_own_mmcv'] == '2.2.0'


def test_allow_provided_still_requires_the_package_to_import(check_env, monkeypatch):
    monkeypatch.setattr(check_env, 'required', lambda: [('fake_absent_pkg_xyz', '<2', None)])
    problems, _ = check_env.check(allow_provided=True)
    assert any(p.startswith('fake_absent_pkg_xyz: cannot import') for p in problems)


def test_allow_provided_is_a_command_line_flag():
    out = subprocess.run([sys.executable, SCRIPT, '--help'], capture_output=True, text=True,
                         check=True)
    assert '--allow-provided' in out.stdout
