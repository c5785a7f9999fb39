#!/usr/bin/env bash
# The one command for the lent GPU machine, run from the repo root with
# wheelhouse/ carried (build it here: tools/device/build_wheelhouse.sh):
#   bash tools/device/run_gpu_check.sh [gpu_check.py args...]
# That machine is offline and its image's Python (PYTHON, default python3)
# holds torch and friends but no OpenMMLab package. This installs the
# wheelhouse into a venv layered on that Python, checks the imports and runs
# tools/benchmarks/gpu_check.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="${GPU_VENV:-/tmp/medsapiens-gpu-venv}"
say() { printf '[gpu-check] %s\n' "$*"; }
fail() { printf '[gpu-check] FAILED at step "%s"\n' "$1" >&2; exit 1; }

ls wheelhouse/*.whl >/dev/null 2>&1 || fail "find wheelhouse/ (build it with tools/device/build_wheelhouse.sh, carry it)"
T0="$(date +%s.%N)"

# The image's python3 is itself a venv: `venv --system-site-packages` made
# from it would reach the interpreter under it, not the image's packages. A
# .pth running site.addsitedir on the image's site directories layers them
# under this venv instead (this venv's own packages first), and processes
# their own .pth files as the image does: setuptools' distutils shim among
# them, which mmengine's collect_env needs on Python 3.12.
say "create $VENV on $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
rm -rf "$VENV"
"$PY" -m venv --without-pip "$VENV" || fail "create venv"
VPY="$VENV/bin/python"
SITE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
"$PY" -c 'import site; print("import site; " + "; ".join(f"site.addsitedir({d!r})" for d in site.getsitepackages()))' \
    >"$SITE/_image_site.pth" || fail "layer the image's site-packages"
# pip comes from the image (through the .pth); it installs into this venv.
"$VPY" -m pip --version >/dev/null 2>&1 || "$VPY" -m ensurepip --default-pip >/dev/null || fail "find pip"

# By name, unpinned, without dependencies: the folder holds one version of
# each package the image lacks, and a name the image already has stays the
# image's. mmpose/mmengine name chumpy and opencv-python, which are not
# shipped (no mmpose module imports chumpy; the image's headless opencv gives cv2).
NAMES=($(ls wheelhouse/*.whl | sed -E 's#^wheelhouse/([^-]+)-.*#\1#'))
say "install ${#NAMES[@]} wheels from wheelhouse/ (offline)"
"$VPY" -m pip install --no-input --no-index --find-links wheelhouse --no-deps --no-compile -q "${NAMES[@]}" \
    || fail "pip install from wheelhouse"
# This checkout, editable, with the image's setuptools (torch requires one).
"$VPY" -m pip install --no-input --no-index --no-deps --no-build-isolation --no-compile -q -e . \
    || fail "pip install -e ."
say "install took $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

"$VPY" - <<'EOF' || fail "import mmcv.ops, mmpose.models, mmpose_medsapiens"
import mmcv.ops, mmpose.models, mmpose_medsapiens  # noqa: F401
import cv2, mmcv, mmpose, numpy, torch
print(f'[gpu-check] imports OK: torch {torch.__version__} (cuda {torch.version.cuda}, '
      f'available {torch.cuda.is_available()}), numpy {numpy.__version__}, cv2 {cv2.__version__}, '
      f'mmcv {mmcv.__version__}, mmpose {mmpose.__version__}, mmpose_medsapiens {mmpose_medsapiens.__version__}')
EOF
# A report, not a gate: it lists pydicom (not shipped) and SimpleITK unless the
# wheelhouse was built with WITH_SIMPLEITK=1.
"$VPY" tools/check_env.py --allow-provided | sed 's/^/[gpu-check] check_env: /' || true

[[ -f tools/benchmarks/gpu_check.py ]] || fail "find tools/benchmarks/gpu_check.py"
say "python tools/benchmarks/gpu_check.py $*"
exec "$VPY" tools/benchmarks/gpu_check.py "$@"
