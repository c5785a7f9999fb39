import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version():
    with open(osp.join(HERE, 'mmpose_medsapiens', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='mmpose_medsapiens',
    version=version(),
    description='MedSapiens for MMPose: Sapiens ViT + LoRA anatomical landmark detection',
    long_description=readme(),
    long_description_content_type='text/markdown',
    # The package is Python only; configs and tools are used from the checkout.
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    # install_requires and extras_require are the version ranges of setup.cfg
    # [options]; the exact versions setup and CI install are tools/constraints.txt.
    zip_safe=False,
)
