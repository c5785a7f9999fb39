"""Check that the environment has the OpenMMLab stack mmpose_medsapiens needs.

Exit status 0 when every package is importable at its pinned version and
mmcv's compiled ops load; 1 otherwise (the problems are printed).

With --allow-provided, a package that the environment this one is layered on
provides (its module lies outside ``sys.prefix``: a base image's venv reached
through ``--system-site-packages`` or a ``.pth`` file, as on the lent GPU
machine) passes at any version that imports: the pins are for the packages
this project installs, and the base's numpy/opencv/onnx are what its torch
was built with. Packages installed into this environment stay pinned.

Usage:
    python tools/check_env.py [--quiet] [--summary] [--allow-provided]
"""
import argparse
import importlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONSTRAINTS = os.path.join(ROOT, 'tools', 'constraints.txt')
# Import name of each pinned distribution, and an import proving it works.
IMPORT_NAMES = {'opencv-python': 'cv2', 'opencv-python-headless': 'cv2', 'Pillow': 'PIL'}
EXTRA_IMPORTS = {'mmcv': 'mmcv.ops', 'mmpose': 'mmpose.models'}
UNPINNED = [('torch', None, None), ('torchvision', None, None), ('pytest', None, None)]
BUILD_ONLY = ('setuptools', 'opencv-python-headless')  # cv2 is checked once


def required():
    """(module, version specifier or None, extra import) from tools/constraints.txt."""
    out = list(UNPINNED[:2])
    with open(CONSTRAINTS, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            name = re.split(r'[=<>!~ ]', line, 1)[0]
            if name in BUILD_ONLY:
                continue
            out.append((IMPORT_NAMES.get(name, name), line[len(name):], EXTRA_IMPORTS.get(name)))
    return out + UNPINNED[2:]


def provided_by_base(mod):
    """Whether ``mod`` was installed outside this environment (``sys.prefix``)."""
    path = getattr(mod, '__file__', None)
    if not path:
        return False
    prefix = os.path.realpath(sys.prefix)
    return os.path.commonpath([os.path.realpath(path), prefix]) != prefix


def check(allow_provided=False):
    """(problems, versions); see the module docstring for ``allow_provided``."""
    problems, versions = [], {}
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # a bare interpreter: nothing is installed yet
        return ['packaging: cannot import (the stack is not installed)'], versions
    for name, want, extra in required():
        try:
            mod = importlib.import_module(name)
            if extra:
                importlib.import_module(extra)
        except Exception as e:  # noqa: BLE001 - report any import failure
            problems.append(f'{extra or name}: cannot import ({type(e).__name__}: {e})')
            continue
        version = getattr(mod, '__version__', '?')
        if want and allow_provided and provided_by_base(mod):
            versions[name] = f'{version} (provided)'
            continue
        versions[name] = version
        if want and version not in SpecifierSet(want):
            problems.append(f'{name}: found {version}, need {want}')
    try:
        mod = importlib.import_module('mmpose_medsapiens')
        where = os.path.dirname(os.path.dirname(os.path.abspath(mod.__file__)))
        if sys.path[0] != ROOT and where != ROOT:
            problems.append(f'mmpose_medsapiens imported from {where}, expected the editable '
                            f'checkout {ROOT}')
    except Exception as e:  # noqa: BLE001
        problems.append(f'mmpose_medsapiens: cannot import ({type(e).__name__}: {e})')
    return problems, versions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quiet', action='store_true',
                        help='print nothing, only set the exit status')
    parser.add_argument('--summary', action='store_true', help='print one line of versions')
    parser.add_argument('--allow-provided', action='store_true',
                        help='accept any importable version of a package installed outside this '
                        'environment (a base image layered under it); pins still hold for the rest')
    args = parser.parse_args()
    # Do not let the checkout itself satisfy the editable-install check.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.join(ROOT, 'tools'):
        sys.path.pop(0)
    problems, versions = check(allow_provided=args.allow_provided)
    if args.summary:
        print(', '.join(f'{k} {v}' for k, v in versions.items()))
    elif not args.quiet:
        for p in problems:
            print('MISSING/WRONG:', p)
        if not problems:
            print('environment OK:', ', '.join(f'{k} {v}' for k, v in versions.items()))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
