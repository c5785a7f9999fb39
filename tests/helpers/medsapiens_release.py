"""The MedSapiens release's leg test split, rebuilt in its exact layout.

Structure and names follow the files MedSapiens publishes under
``data/med_sapien``: ``leg_coco_test_annotations.json`` (COCO keypoints,
``file_name`` without a folder, whole-image ``bbox``, one category
``Leg X-ray`` with landmarks ``K0``..``K25``), images in ``Images/`` and one
``leg_meta_json/<id>_meta.json`` per image holding ``gt``, ``ID`` (a string),
``spacing`` (row, col) and ``original_shape`` (h, w). Some meta files are
named after another number than the ``ID`` they hold (``1_meta.json`` holds
``"ID": "1001"``). The ids and sizes below are the release's test images;
the landmark coordinates and pixels are drawn here.
"""
import json

import cv2
import numpy as np

# (image id, width, height) of the 50 images of leg_coco_test_annotations.json.
LEG_TEST_IMAGES = (
    (1061, 2396, 5628), (1067, 2396, 5918), (1072, 2396, 5338), (1073, 2396, 5918),
    (1077, 2396, 5628), (1078, 2396, 4758), (1080, 2396, 5338), (1081, 2396, 5918),
    (1086, 2396, 4758), (1088, 2396, 5918), (1092, 2396, 4758), (1102, 2396, 5628),
    (1107, 2396, 5918), (1109, 2396, 5048), (1112, 2396, 5628), (1114, 2396, 5338),
    (1116, 2396, 5628), (1119, 2396, 6208), (1120, 2396, 5628), (1121, 2396, 4758),
    (1122, 2396, 6208), (1126, 2396, 5048), (1132, 2396, 5918), (1133, 2396, 5628),
    (1134, 2396, 5628), (1136, 2396, 5338), (1137, 2396, 5338), (2070, 3076, 7026),
    (2076, 3072, 7444), (2077, 3076, 7612), (2079, 3064, 7172), (2091, 3072, 7542),
    (2092, 3072, 7722), (2093, 3072, 7760), (2097, 3064, 7218), (2098, 3064, 7105),
    (2101, 3076, 7172), (2107, 3092, 7192), (2108, 3072, 6366), (2110, 3076, 7794),
    (2111, 3068, 6844), (2112, 3080, 9036), (2117, 3072, 7480), (2120, 3064, 7200),
    (2121, 3068, 7143), (2122, 3068, 6372), (2124, 3072, 5781), (2129, 3072, 7369),
    (2130, 3072, 6415), (2134, 3064, 6968))


def leg_spacing(img_id: int) -> float:
    """Spacing (mm/px) of the release's meta files: 2xxx images, the others."""
    return 0.138999998569 if img_id // 1000 == 2 else 0.155


def write_leg_release(root, images=LEG_TEST_IMAGES, split='test', seed=0):
    """Write a leg split in the release layout under ``root``; return its JSON path."""
    rng = np.random.default_rng(seed)
    (root / 'Images').mkdir(parents=True, exist_ok=True)
    (root / 'leg_meta_json').mkdir(exist_ok=True)
    entries, anns = [], []
    for n, (img_id, w, h) in enumerate(images, start=1):
        name = f'Leg_{img_id}.png'
        # Blank pixels compress to a few kB even at 3080x9036.
        cv2.imwrite(str(root / 'Images' / name), np.zeros((h, w), np.uint8),
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
        xy = np.round(rng.uniform([0, 0], [w - 1, h - 1], (26, 2)))
        entries.append({'id': img_id, 'file_name': name, 'height': h, 'width': w})
        kpts = np.concatenate([xy, np.full((26, 1), 2.0)], 1).ravel()
        anns.append({'id': n, 'image_id': img_id, 'category_id': 1,
                     'keypoints': [float(v) if i % 3 < 2 else 2 for i, v in enumerate(kpts)],
                     'num_keypoints': 26, 'bbox': [0, 0, w, h], 'area': w * h, 'iscrowd': 0})
        meta = {'gt': xy.astype(int).tolist(), 'ID': str(img_id),
                'spacing': [leg_spacing(img_id)] * 2, 'original_shape': [h, w]}
        (root / 'leg_meta_json' / f'{img_id}_meta.json').write_text(json.dumps(meta))
    # A meta file named after another number than the ID it holds, as in the release.
    (root / 'leg_meta_json' / '1_meta.json').write_text(json.dumps(
        {'gt': [[438, 568]] * 26, 'ID': '1001', 'spacing': [0.155, 0.155],
         'original_shape': [5628, 2396]}))
    categories = [{'id': 1, 'name': 'Leg X-ray', 'supercategory': 'X-ray',
                   'keypoints': [f'K{i}' for i in range(26)], 'skeleton': []}]
    path = root / f'leg_coco_{split}_annotations.json'
    path.write_text(json.dumps({'images': entries, 'annotations': anns,
                                'categories': categories}, indent=4))
    return str(path)
