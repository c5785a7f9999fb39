from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


setup(
    name='mmpose_medsapiens',
    version='0.1.0',
    description='MedSapiens for MMPose: Sapiens ViT + LoRA anatomical landmark detection',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    package_data={'mmpose_medsapiens': ['datasets/metainfo/*.py']},
    python_requires='>=3.8',
    # mmcv must come with its compiled ops (mmpose.models imports mmcv.ops):
    # install it from OpenMMLab's wheel index or run tools/setup_env.sh.
    install_requires=[
        'torch>=1.13',
        'torchvision',
        'numpy<2',
        'opencv-python>=4.10,<4.11',
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'mmdet==3.3.0',
        'mmpose==1.3.2',
        'mmpretrain==1.2.0',
        # MedSapiens' training pipeline (Blur, MedianBlur, CoarseDropout through
        # MMPose's Albumentation wrapper); 1.3.1 takes the wrapper's argument
        # names (max_holes, max_height, ...) and numpy<2.
        'albumentations==1.3.1',
        # DICOM radiographs (modality LUT, VOI window, spacing from the header).
        'pydicom==2.4.4',
    ],
    extras_require={'tests': ['pytest', 'matplotlib']},
    zip_safe=False,
)
