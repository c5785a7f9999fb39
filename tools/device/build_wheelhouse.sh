#!/usr/bin/env bash
# Build wheelhouse/ at the repo root: the wheels the lent GPU machine lacks to
# run this package. That machine is offline; its image has Python 3.12, torch
# 2.11.0+cu130, numpy 2.x, opencv-python-headless, scipy, scikit-image, ... but
# no OpenMMLab package. The folder travels with the working tree (carry, 64 MiB
# in all) and tools/device/run_gpu_check.sh installs it there.
#
# It holds only what the image lacks: a second numpy or opencv would shadow
# the ones the image's torch and friends were built with. So the wheel set is
#   closure(our pins + deps of mmpose/mmcv/xtcocotools) - closure(image) - NOT_SHIPPED
# as pip's resolver computes it, plus two wheels compiled here against the
# image's stack: mmcv 2.1.0 (CPU ops, torch 2.11.0) and xtcocotools (numpy 2;
# PyPI has no cp312 wheel of it).
#
# Run here (needs the registry). Idempotent: the folder is kept while this
# script and tools/constraints.txt are unchanged; the compiled wheels are
# cached outside the checkout, so a rerun takes seconds. Knobs:
#   PY312         a CPython 3.12 (default: pyenv's 3.12.1, else python3.12)
#   TORCH_SPEC    pip spec or wheel file of torch 2.11.0 (default torch==2.11.0)
#   BUILD_VENV    build venv, outside the repo (default /tmp/medsapiens-wheelhouse-venv)
#   MAX_JOBS      compile jobs for mmcv (default 1: a 2-core machine)
#   MEDSAPIENS_CACHE  cache root (default ${XDG_CACHE_HOME:-~/.cache}/mmpose_medsapiens)
#   WITH_SIMPLEITK=1  also ship SimpleITK, recompressed with LZMA (53 -> 29 MB):
#                 only MetaImage/NRRD/NIfTI images need it (imported on first use)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/wheelhouse"
CACHE="${MEDSAPIENS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpose_medsapiens}"
WHEELS="$CACHE/wheels/gpu-image-py312-torch2.11.0"
LOGS="$CACHE/logs/wheelhouse"
BVENV="${BUILD_VENV:-/tmp/medsapiens-wheelhouse-venv}"
PY312="${PY312:-$( [[ -x /root/.pyenv/versions/3.12.1/bin/python ]] && echo /root/.pyenv/versions/3.12.1/bin/python || echo python3.12)}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.11.0}"
CONSTRAINTS="$ROOT/tools/constraints.txt"
mkdir -p "$WHEELS" "$LOGS"

# What the GPU image provides (its pip list, as far as this stack touches it).
IMAGE=(torch==2.11.0 torchvision==0.26.0 'numpy>=2' opencv-python-headless scipy scikit-image
       scikit-learn matplotlib onnx onnxruntime safetensors pillow pyyaml pytest tqdm requests rich)
# Required by some metadata but not shipped:
#   chumpy         no module of mmpose 1.3.2 imports it, and it breaks on numpy 2
#   opencv-python  mmengine/mmpose ask for it; the image's headless build gives cv2
#   cython         xtcocotools lists its build tool as a run-time requirement
#   pydicom, simpleitk  heavy medical-image readers, left out (simpleitk: 53 MB;
#                  see WITH_SIMPLEITK)
NOT_SHIPPED=(chumpy opencv-python cython pydicom simpleitk)

say() { printf '\033[1m[wheelhouse]\033[0m %s\n' "$*"; }
# step NAME CMD...: run CMD with its output in a log; on failure name the step.
step() {
    local name="$1" log="$LOGS/$(echo "$1" | tr -c 'a-zA-Z0-9' '_' | cut -c1-60).log"
    shift
    say "$name"
    if ! "$@" >"$log" 2>&1; then
        printf '\n[wheelhouse] FAILED at step "%s"; last lines of %s:\n' "$name" "$log" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
}
pin() { grep -E "^$1(==|<|>|!|~)" "$CONSTRAINTS" | head -n 1; }

STAMP="$( (cat "${BASH_SOURCE[0]}" "$CONSTRAINTS"; echo "WITH_SIMPLEITK=${WITH_SIMPLEITK:-0}") | sha256sum | cut -c1-16)"
if [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$STAMP" ]]; then
    say "wheelhouse/ is up to date ($(du -sh "$OUT" | cut -f1)); delete it to rebuild"
    exit 0
fi

# ------------------------------------------------------------- build venv
# Python 3.12 + the image's torch: mmcv's ops compile against its headers.
if ! "$BVENV/bin/python" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.11.0")' 2>/dev/null; then
    step "create build venv $BVENV (python 3.12, $TORCH_SPEC)" "$PY312" -m venv --clear "$BVENV"
fi
if ! "$BVENV/bin/python" -c 'import torch, numpy, Cython, packaging, wheel, ninja' 2>/dev/null; then
    step "install torch 2.11.0 + build tools into the build venv" "$BVENV/bin/python" -m pip install \
        "$TORCH_SPEC" 'setuptools<70' wheel ninja 'numpy>=2' 'cython>=0.29' packaging
fi
PY="$BVENV/bin/python"
PIP=("$PY" -m pip --no-input)

# ------------------------------------------------------------------- mmcv
# mmcv 2.1.0 is an sdist only. As in tools/setup_env.sh its -std=c++14/17 is
# raised to c++20 (current torch headers need it); -g0 overrides the -g of
# Python's CFLAGS, so the .so carries no debug info (1.9 MB; a wheel of 1.3 MB).
MMCV_VERSION="$(pin mmcv)"; MMCV_VERSION="${MMCV_VERSION#mmcv==}"
if ! ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    BUILD="$(mktemp -d /tmp/mmcv-wheelhouse.XXXXXX)"
    step "download mmcv $MMCV_VERSION sdist" "${PIP[@]}" download --no-deps --no-binary mmcv \
        --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-*.tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    sed -i -e "s/'-std=c++1[47]'/'-std=c++20', '-g0'/g" "$SRC/setup.py"
    grep -q -- "'-std=c++20', '-g0'" "$SRC/setup.py" || { say "FAILED at step \"patch mmcv setup.py\""; exit 1; }
    say "compiling mmcv $MMCV_VERSION CPU ops (MAX_JOBS=${MAX_JOBS:-1}; 30-90 min on 2 cores, once per cache)"
    step "build mmcv $MMCV_VERSION wheel" env MMCV_WITH_OPS=1 FORCE_CUDA=0 CUDA_VISIBLE_DEVICES= \
        MAX_JOBS="${MAX_JOBS:-1}" "${PIP[@]}" wheel --no-deps --no-build-isolation -w "$BUILD/wheel" "$SRC"
    mv "$BUILD"/wheel/mmcv-*.whl "$WHEELS/"
    rm -rf "$BUILD"
fi
say "mmcv wheel: $(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl)"

# ------------------------------------------------------------ xtcocotools
# The PyPI release has no cp312 wheel; build the sdist against numpy 2 (an
# extension built against numpy 2 loads under any numpy 2.x).
if ! ls "$WHEELS"/xtcocotools-*.whl >/dev/null 2>&1; then
    step "build xtcocotools wheel against numpy $("$PY" -c 'import numpy; print(numpy.__version__)')" \
        "${PIP[@]}" wheel --no-deps --no-build-isolation --no-binary xtcocotools -w "$WHEELS" 'xtcocotools>=1.12'
fi

# -------------------------------------------------- SimpleITK (opt-in)
# Its wheel is one 270 MB .so, deflated to 53 MB: too much for the carry with
# the rest. Python's zipfile (so pip) reads LZMA members, and the RECORD
# hashes are of the uncompressed files, so the re-zipped wheel installs as is.
EXTRA=()
if [[ "${WITH_SIMPLEITK:-0}" == 1 ]]; then
    SITK_PIN="$(pin SimpleITK)"
    if ! ls "$WHEELS"/lzma/simpleitk-*.whl >/dev/null 2>&1; then
        TMPW="$(mktemp -d /tmp/sitk-wheel.XXXXXX)"
        step "download $SITK_PIN" "${PIP[@]}" download --no-deps --only-binary :all: -d "$TMPW" "$SITK_PIN"
        say "recompress SimpleITK with LZMA (a few minutes)"
        "$PY" -c 'import sys, zipfile
src, dst = sys.argv[1:]
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_LZMA) as zo:
    for info in zi.infolist():
        zo.writestr(info, zi.read(info.filename), compress_type=zipfile.ZIP_LZMA)' \
            "$(ls "$TMPW"/simpleitk-*.whl)" "$TMPW/lzma.zip" || { say "FAILED at step \"recompress SimpleITK\""; exit 1; }
        mkdir -p "$WHEELS/lzma" && mv "$TMPW/lzma.zip" "$WHEELS/lzma/$(basename "$(ls "$TMPW"/simpleitk-*.whl)")"
        rm -rf "$TMPW"
    fi
    EXTRA=("$WHEELS"/lzma/simpleitk-*.whl)
fi

# ---------------------------------------------------------- resolve sets
STAGE="$(mktemp -d /tmp/wheelhouse-stage.XXXXXX)"
trap 'rm -rf "$STAGE"' EXIT
step "download mmpose (no deps: its chumpy needs numpy<2)" "${PIP[@]}" download --no-deps -d "$STAGE/ours" "$(pin mmpose)"
# Requirements of the wheels installed with --no-deps, less NOT_SHIPPED and
# the wheels built here (the resolver must not fetch their sdists).
"$PY" - "$STAGE/deps.txt" "${NOT_SHIPPED[*]}" "$STAGE"/ours/mmpose-*.whl "$WHEELS"/mmcv-*.whl "$WHEELS"/xtcocotools-*.whl <<'EOF'
import sys, zipfile
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
out, skip, wheels = sys.argv[1], set(sys.argv[2].split()) | {'mmcv', 'xtcocotools'}, sys.argv[3:]
reqs = set()
for w in wheels:
    with zipfile.ZipFile(w) as z:
        meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        for line in z.read(meta).decode().splitlines():
            if line.startswith('Requires-Dist:'):
                r = Requirement(line.split(':', 1)[1].strip())
                if canonicalize_name(r.name) not in skip and (r.marker is None or r.marker.evaluate()):
                    reqs.add(f'{r.name}{r.specifier}')
open(out, 'w').write('\n'.join(sorted(reqs)) + '\n')
EOF
OURS=("$(pin mmengine)" "$(pin mmdet)" "$(pin mmpretrain)" "$(pin albumentations)")
# Both resolutions at once: each is a minute or two of metadata fetching.
resolve() { "${PIP[@]}" install --dry-run --ignore-installed --quiet --report "$@"; }
say "resolve our stack and the image's packages (pip --dry-run --report)"
resolve "$STAGE/ours.json" "${OURS[@]}" -r "$STAGE/deps.txt" >"$LOGS/resolve_ours.log" 2>&1 & P1=$!
resolve "$STAGE/image.json" "${IMAGE[@]}" >"$LOGS/resolve_image.log" 2>&1 & P2=$!
wait $P1 || { tail -n 30 "$LOGS/resolve_ours.log" >&2; say "FAILED at step \"resolve our stack\""; exit 1; }
wait $P2 || { tail -n 30 "$LOGS/resolve_image.log" >&2; say "FAILED at step \"resolve the image's packages\""; exit 1; }
"$PY" - "$STAGE" "${NOT_SHIPPED[*]}" >"$STAGE/missing.txt" <<'EOF'
import json, sys
from packaging.utils import canonicalize_name as cn
stage, skip = sys.argv[1], set(sys.argv[2].split())
load = lambda f: {cn(i['metadata']['name']): i['metadata']['version']
                  for i in json.load(open(f'{stage}/{f}'))['install']}
ours, image = load('ours.json'), load('image.json')
built = {'mmcv', 'xtcocotools', 'mmpose'}  # built here / downloaded above
for name in sorted(set(ours) - set(image) - skip - built):
    print(f'{name}=={ours[name]}')
EOF
step "download $(wc -l <"$STAGE/missing.txt") wheels the image lacks: $(tr '\n' ' ' <"$STAGE/missing.txt")" \
    "${PIP[@]}" wheel --no-deps -w "$STAGE/ours" -r "$STAGE/missing.txt"

# ------------------------------------------------------------- assemble
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
cp "$STAGE"/ours/*.whl "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl "$WHEELS"/xtcocotools-*.whl ${EXTRA[@]+"${EXTRA[@]}"} "$OUT.tmp/"
echo "$STAMP" >"$OUT.tmp/.stamp"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
say "wheelhouse/ holds:"
ls -l "$OUT"/*.whl | awk '{printf "  %9.1f KiB  %s\n", $5 / 1024, $9}' | sed "s#$OUT/##"
say "total size: $(du -sb "$OUT" | awk '{printf "%.1f MiB", $1 / 1048576}') (the carry limit is 64 MiB with the tree)"
