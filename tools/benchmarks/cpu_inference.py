"""CPU inference paths of the decoded landmark model: speed and landmark change.

Speed: Sapiens 0.3B + the recipe's head (19 landmarks, LoRA merged, the flip
test off so that one image is one forward pass), batch 1, at each
``--sizes`` (h x w), through the full :class:`DecodedLandmarkModel` (decoding
included) in these paths:

* ``eager_fp32``: PyTorch eager, float32 (what ``tools/infer.py`` ran);
* ``eager_bf16``: the same under ``torch.autocast('cpu', torch.bfloat16)``;
* ``torch_compile``: ``torch.compile`` (inductor) of the fp32 network
  (preprocessing, backbone, head, flip test), decoding eager, under
  ``torch.no_grad`` (under ``torch.inference_mode`` dynamo of torch 2.12 fails
  a guard on the drop-path rate). Compiling the decoding with it gave wrong
  landmarks with torch 2.12.1 (the compiled network and the compiled decoder
  are each right on their own), so only the network is compiled; its compile
  time is the warm-up round;
* ``onnxruntime_fp32``: the exported graph (``tools/deploy/export_onnx.py``);
* ``onnxruntime_int8``: that graph with dynamic int8 quantisation of its
  MatMul weights (``onnxruntime.quantization.quantize_dynamic``).

Images per second are medians of interleaved repeats; ``vs_fp32`` the median
of per-round ratios. The FLOP floor is GFLOP per image (counted with
``torch.utils.flop_counter`` on the eager model) over the CPU's measured
float32 matmul GFLOP/s.

Landmark change: the demo's trained model (``--demo-dir``, written by
``tools/demo.py``) runs every path on the synthetic test set; its landmarks
are compared with eager fp32 on the same inputs (max and mean change in
image pixels) and the MRE change in mm. Weights of the 0.3B model cannot be
downloaded here, and a random model's flat heatmaps make landmark changes
meaningless, so accuracy is measured on the trained small model only.

Usage:
    python tools/benchmarks/cpu_inference.py [--sizes 512x384 1024x768] \
        [--demo-dir work_dirs/demo] [--repeats 3] [--quick] [--out-dir DIR]
"""
import copy
import glob
import os.path as osp
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.apis import init_landmark_model
from mmpose_medsapiens.deploy import DecodedLandmarkModel, export_onnx, to_image_coordinates
from mmpose_medsapiens.evaluation.functional import radial_errors
from mmpose_medsapiens.testing import (QUICK_ARCH, base_parser, median, paired_ratio, print_table,
                                       time_alternating, write_json)

NAME = 'cpu_inference'
VARIANTS = ('eager_fp32', 'eager_bf16', 'torch_compile', 'onnxruntime_fp32', 'onnxruntime_int8')
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_DEMO_DIR = osp.join(REPO_ROOT, 'work_dirs', 'demo')


def build_model(arch, num_layers, embed_dims, img_size, num_keypoints=19):
    """The recipe's model (no pretrained weights), LoRA merged, flip test off."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'medsapiens_xray.py'))
    model_cfg = copy.deepcopy(cfg.model)
    h, w = img_size
    model_cfg.backbone.update(arch=arch, img_size=(h, w), init_cfg=None)
    model_cfg.head.update(in_channels=embed_dims, out_channels=num_keypoints)
    codec = dict(type='UDPHeatmap', input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=3)
    model_cfg.head.decoder = codec
    model_cfg.test_cfg = dict(flip_test=False)
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    model.backbone.merge_lora()
    return model


def onnx_paths(model, folder):
    """Export ``model`` as ``tools/deploy/export_onnx.py`` does, and an int8 copy."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = osp.join(folder, 'fp32.onnx')
    names = [str(k) for k in range(model.head.out_channels)]
    meta = getattr(model, 'dataset_meta', None) or {}
    export_onnx(model, fp32, meta.get('flip_indices', range(len(names))), names)
    int8 = osp.join(folder, 'int8.onnx')
    quantize_dynamic(fp32, int8, op_types_to_quantize=['MatMul'], weight_type=QuantType.QInt8)
    return dict(onnxruntime_fp32=fp32, onnxruntime_int8=int8)


def runners(decoded, onnx_files, threads):
    """Variant name -> function of a (N, 3, H, W) float32 array -> (keypoints, scores)."""
    import onnxruntime as ort

    def eager(bf16):
        def run(images):
            with torch.inference_mode(), torch.autocast('cpu', torch.bfloat16, enabled=bf16):
                keypoints, scores, _ = decoded(torch.from_numpy(images))
            return keypoints.float().numpy(), scores.float().numpy()
        return run

    compiled_heatmaps = torch.compile(decoded.heatmaps)

    def run_compiled(images):
        with torch.no_grad():
            keypoints, scores = decoded.decoder(compiled_heatmaps(torch.from_numpy(images)))
        return keypoints.numpy(), scores.numpy()

    def session(path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        sess = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        return lambda images: tuple(sess.run(['keypoints', 'scores'], {'image': images}))

    out = dict(eager_fp32=eager(False), eager_bf16=eager(True), torch_compile=run_compiled)
    out.update({name: session(path) for name, path in onnx_files.items()})
    return out


def matmul_gflops(n=1024, repeats=5):
    """Measured float32 matmul throughput of this CPU (torch, all threads)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def model_gflop(decoded, img_size):
    from torch.utils.flop_counter import FlopCounterMode
    h, w = img_size
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        decoded(torch.zeros(1, 3, h, w))
    return counter.get_total_flops() / 1e9


def speed(arch, num_layers, embed_dims, img_size, repeats, threads):
    model = build_model(arch, num_layers, embed_dims, img_size)
    decoded = DecodedLandmarkModel(model, list(range(model.head.out_channels))).eval()
    h, w = img_size
    images = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        fns = runners(decoded, onnx_paths(model, folder), threads)
        times = time_alternating({n: (lambda f=f: f(images)) for n, f in fns.items()},
                                 repeats=repeats, warmup=1)
    gflop = model_gflop(decoded, img_size)
    rows = {}
    for name in VARIANTS:
        rows[name] = dict(times_s=times[name], images_per_s=1.0 / median(times[name]),
                          vs_fp32=1.0 / paired_ratio(times[name], times['eager_fp32']))
    return dict(gflop_per_image=gflop, variants=rows)


def demo_accuracy(demo_dir, threads):
    """Landmark and MRE change of each path against eager fp32 on the demo's test set."""
    config = osp.join(demo_dir, 'demo_synthetic_ceph.py')
    checkpoint = sorted(glob.glob(osp.join(demo_dir, 'best_*.pth')))[-1]
    model = init_landmark_model(config, checkpoint, device='cpu')
    model.backbone.merge_lora()
    init_default_scope('mmpose')
    cfg = Config.fromfile(config)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = [dataset[i] for i in range(len(dataset))]
    batch = pseudo_collate(samples)
    images = torch.stack(batch['inputs']).float().numpy()
    decoded = DecodedLandmarkModel(model, model.dataset_meta['flip_indices']).eval()
    with tempfile.TemporaryDirectory() as folder:
        fns = runners(decoded, onnx_paths(model, folder), threads)
        outputs = {name: np.concatenate([fn(images[i:i + 1])[0] for i in range(len(images))])
                   for name, fn in fns.items()}
    metas = [s['data_samples'].metainfo for s in samples]
    gts = [s['data_samples'].gt_instances.keypoints[0] for s in samples]

    def to_image(kpts):
        return np.stack([to_image_coordinates(k, m['input_center'], m['input_scale'],
                                              m['input_size']) for k, m in zip(kpts, metas)])

    def mre(kpts):
        return float(np.mean([radial_errors(p, g, m['calibration']).mean()
                              for p, g, m in zip(kpts, gts, metas)]))

    reference = to_image(outputs['eager_fp32'])
    rows = {}
    for name in VARIANTS:
        kpts = to_image(outputs[name])
        change = np.linalg.norm(kpts - reference, axis=-1)
        rows[name] = dict(max_change_px=float(change.max()), mean_change_px=float(change.mean()),
                          mre_mm=mre(kpts), mre_change_mm=mre(kpts) - mre(reference))
    return dict(images=len(samples), checkpoint=checkpoint, variants=rows)


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--sizes', nargs='+', default=['512x384', '1024x768'],
                        help='input sizes h x w')
    parser.add_argument('--demo-dir', default=DEFAULT_DEMO_DIR,
                        help='a tools/demo.py output folder for the accuracy part (default: '
                        "make demo's, when it exists)")
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    if args.quick:
        arch, num_layers, embed_dims = QUICK_ARCH, 2, QUICK_ARCH['embed_dims']
        sizes, repeats = [(64, 48)], 2
    else:
        arch, num_layers, embed_dims = 'sapiens_0.3b', 24, 1024
        sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes]
        repeats = args.repeats
    floor = matmul_gflops()
    results = dict(matmul_gflops=floor, sizes={})
    table = []
    for size in sizes:
        res = speed(arch, num_layers, embed_dims, size, repeats, threads)
        res['flop_floor_images_per_s'] = floor / res['gflop_per_image']
        results['sizes'][f'{size[0]}x{size[1]}'] = res
        for name, row in res['variants'].items():
            table.append(dict(size=f'{size[0]}x{size[1]}', path=name,
                              images_per_s=row['images_per_s'], vs_fp32=row['vs_fp32'],
                              floor_images_per_s=res['flop_floor_images_per_s'],
                              gflop=res['gflop_per_image']))
    print_table(table, ['size', 'path', 'images_per_s', 'vs_fp32', 'gflop', 'floor_images_per_s'],
                f'speed, batch 1, {threads} threads, matmul {floor:.0f} GFLOP/s')
    if args.demo_dir and not glob.glob(osp.join(args.demo_dir, 'best_*.pth')):
        print(f'\nno trained demo model in {args.demo_dir} (run make demo): landmark change '
              'not measured')
    elif args.demo_dir:
        acc = demo_accuracy(args.demo_dir, threads)
        results['demo_accuracy'] = acc
        print_table([dict(path=n, **r) for n, r in acc['variants'].items()],
                    ['path', 'max_change_px', 'mean_change_px', 'mre_mm', 'mre_change_mm'],
                    f'landmark change vs eager fp32, demo model, {acc["images"]} test images')
    write_json(args.out_dir, NAME, dict(sizes=[list(s) for s in sizes], repeats=repeats,
                                        threads=threads, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
