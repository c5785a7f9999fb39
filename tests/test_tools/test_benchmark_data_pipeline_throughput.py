"""tools/benchmarks/data_pipeline_throughput.py --quick runs and checks the cache."""
import json
import os.path as osp

from conftest import load_tool

bench = load_tool('benchmarks/data_pipeline_throughput.py')


def test_quick_run_writes_all_variants_with_matching_landmarks(tmp_path, capsys):
    results = bench.main(['--quick', '--out-dir', str(tmp_path)])
    printed = capsys.readouterr().out
    assert 'GOAL MET' in printed or 'GOAL MISSED' in printed
    with open(tmp_path / 'data_pipeline_throughput.json') as f:
        report = json.load(f)
    assert report['benchmark'] == 'data_pipeline_throughput' and report['settings']['quick']
    rows = {row['variant']: row for row in report['results']['variants']}
    assert list(rows) == ['(i) LoadImage', '(ii) LoadMedicalImage',
                          '(iii) cache + LoadMedicalImage']
    assert all(row['samples_per_s'] > 0 for row in rows.values())
    # Same augmentation draws: the landmark targets agree in original mm.
    assert rows['(i) LoadImage']['max_landmark_diff_mm'] == 0
    assert report['results']['max_landmark_diff_mm'] < 0.05
    assert rows['(iii) cache + LoadMedicalImage']['image'] != rows['(ii) LoadMedicalImage'][
        'image']  # the cache really is smaller
    assert results['cache_build_s'] > 0


def test_synthetic_leg_set_layout(tmp_path):
    ann = bench.write_leg_set(str(tmp_path), 2, (240, 560), seed=1)
    with open(ann) as f:
        coco = json.load(f)
    assert osp.basename(ann) == 'leg_coco_train_annotations.json'
    assert [img['file_name'] for img in coco['images']] == ['leg_0000.png', 'leg_0001.png']
    assert all('spacing' not in img for img in coco['images'])
    for img, ann in zip(coco['images'], coco['annotations']):
        with open(tmp_path / 'leg_meta_json' / f'{img["id"]}_meta.json') as f:
            meta = json.load(f)
        row, col = meta['spacing']
        assert meta['ID'] == str(img['id'])
        assert 0.139 <= row == col <= 0.155
        assert len(ann['keypoints']) == 3 * 26
    import cv2
    img = cv2.imread(str(tmp_path / 'Images' / 'leg_0001.png'), cv2.IMREAD_UNCHANGED)
    assert img.dtype.name == 'uint16' and img.shape == (560, 240)
