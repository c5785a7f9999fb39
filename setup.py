import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# Build-time pins of tools/constraints.txt that are not run-time requirements.
BUILD_ONLY = ('setuptools', )
# Pins of tools/constraints.txt installed as the `deploy` extra.
DEPLOY = ('onnx', 'onnxruntime')


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version():
    with open(osp.join(HERE, 'mmpose_medsapiens', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def pinned_requirements(names=None):
    """Run-time pins of tools/constraints.txt, the one list of versions.

    Args:
        names (tuple, optional): Only these distributions; default every
            pin but the build-only and the deploy ones.
    """
    with open(osp.join(HERE, 'tools', 'constraints.txt'), encoding='utf-8') as f:
        lines = [line.split('#')[0].strip() for line in f]
    pins = [(re.split(r'[=<>!~ ]', line, 1)[0], line) for line in lines if line]
    if names is not None:
        return [line for name, line in pins if name in names]
    return [line for name, line in pins if name not in BUILD_ONLY + DEPLOY]


setup(
    name='mmpose_medsapiens',
    version=version(),
    description='MedSapiens for MMPose: Sapiens ViT + LoRA anatomical landmark detection',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    package_data={'mmpose_medsapiens': ['datasets/metainfo/*.py']},
    python_requires='>=3.8',
    # mmcv must come with its compiled ops (mmpose.models imports mmcv.ops):
    # install it from OpenMMLab's wheel index or run tools/setup_env.sh.
    install_requires=['torch>=1.13', 'torchvision'] + pinned_requirements(),
    extras_require={'tests': ['pytest', 'matplotlib'], 'deploy': pinned_requirements(DEPLOY)},
    zip_safe=False,
)
