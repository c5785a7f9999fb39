#!/usr/bin/env bash
# One-command environment setup for mmpose_medsapiens.
#
# Installs the OpenMMLab stack this package runs on into the active
# virtualenv / conda env, or into ./.venv when none is active:
#   torch + torchvision (whatever pip resolves for this machine), numpy<2,
#   opencv-python 4.10.x, mmengine 0.10.7, mmcv 2.1.0 WITH compiled CPU ops
#   (built from the sdist, wheel cached outside the checkout), mmdet 3.3.0,
#   mmpose 1.3.2, mmpretrain 1.2.0, and this package in editable mode.
#
# Idempotent: a complete environment is detected in a couple of seconds and
# nothing is reinstalled. Each step prints what it does; a failing step stops
# the script with the step name, the package and the tail of pip's log.
#
# Environment knobs:
#   MEDSAPIENS_CACHE   where the built mmcv wheel is kept
#                      (default: ${XDG_CACHE_HOME:-~/.cache}/mmpose_medsapiens)
#   MAX_JOBS           parallel compile jobs for mmcv (default: nproc)
#   PYTHON             interpreter used to create .venv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${MEDSAPIENS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpose_medsapiens}"
WHEEL_DIR="$CACHE_DIR/wheels"
LOG_DIR="$CACHE_DIR/logs"
mkdir -p "$WHEEL_DIR" "$LOG_DIR"

# Pins come from tools/constraints.txt only; docs/get_started.md explains each.
CONSTRAINTS="$ROOT/tools/constraints.txt"
pin() {
    local line
    line="$(grep -E "^$1(==|<|>|!|~)" "$CONSTRAINTS" | head -n 1)"
    if [[ -z "$line" ]]; then
        printf '[setup] %s has no pin for %s\n' "$CONSTRAINTS" "$1" >&2
        exit 1
    fi
    printf '%s' "$line"
}
PIN_MMENGINE="$(pin mmengine)"
PIN_MMCV_VERSION="$(pin mmcv)"
PIN_MMCV_VERSION="${PIN_MMCV_VERSION#mmcv==}"
PIN_MMDET="$(pin mmdet)"
PIN_MMPOSE="$(pin mmpose)"
PIN_MMPRETRAIN="$(pin mmpretrain)"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

fail() {
    # $1 step, $2 package, $3 log file
    printf '\n[setup] FAILED at step "%s" (package: %s)\n' "$1" "$2" >&2
    if [[ -n "${3:-}" && -f "$3" ]]; then
        printf '[setup] last lines of %s:\n' "$3" >&2
        tail -n 30 "$3" >&2
    fi
    printf '[setup] The environment was left as it was before this step; fix the cause and rerun.\n' >&2
    exit 1
}

# run_step STEP PACKAGE CMD...: run CMD with output in a log, fail loudly.
run_step() {
    local step="$1" pkg="$2"
    shift 2
    local log="$LOG_DIR/$(echo "$step" | tr -c 'a-zA-Z0-9' '_').log"
    say "$step"
    if ! "$@" >"$log" 2>&1; then
        fail "$step" "$pkg" "$log"
    fi
}

# run_step_soft STEP CMD...: like run_step, but a failure only returns 1.
run_step_soft() {
    local step="$1"
    shift
    local log="$LOG_DIR/$(echo "$step" | tr -c 'a-zA-Z0-9' '_' | cut -c1-80).log"
    say "$step"
    "$@" >"$log" 2>&1 || { say "that failed (log: $log); resolving afresh"; return 1; }
}

# ---------------------------------------------------------------- environment
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    PY="$VIRTUAL_ENV/bin/python"
    say "using active virtualenv $VIRTUAL_ENV"
elif [[ -n "${CONDA_PREFIX:-}" ]]; then
    PY="$CONDA_PREFIX/bin/python"
    say "using active conda env $CONDA_PREFIX"
else
    if [[ ! -x "$ROOT/.venv/bin/python" ]]; then
        say "no active environment: creating $ROOT/.venv"
        "${PYTHON:-python3}" -m venv "$ROOT/.venv" || fail "create .venv" "venv"
    else
        say "using $ROOT/.venv"
    fi
    PY="$ROOT/.venv/bin/python"
fi
# No byte-compilation at install: torch alone has thousands of modules;
# Python compiles the ones actually imported on first use.
PIP=("$PY" -m pip --no-input)
PIP_INSTALL=(install --no-compile)

# Everything importable with the right versions and compiled mmcv ops: done.
if "$PY" "$ROOT/tools/check_env.py" --quiet 2>/dev/null; then
    say "environment already complete ($("$PY" "$ROOT/tools/check_env.py" --summary))"
    exit 0
fi

if ! "$PY" -c 'import sys, pip; sys.exit(int(pip.__version__.split(".")[0]) < 23)' 2>/dev/null; then
    run_step "upgrade pip" pip "${PIP[@]}" "${PIP_INSTALL[@]}" --upgrade "pip>=23"
fi

# torch first: mmcv's build and egg_info import it. No index URL or local
# version is forced, so pip picks the build that fits this machine. What it
# picked is remembered per machine: later setups (fresh clones, CI) ask for
# exactly that, which skips pip's backtracking and keeps the cached mmcv
# wheel (keyed by torch version) valid.
TORCH_PINS="$CACHE_DIR/torch-resolved-$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")').txt"
# One pip call for torch and the base pins: each call costs a resolution.
BASE=("$(pin numpy)" "$(pin opencv-python)" "$(pin setuptools)" wheel ninja "$PIN_MMENGINE")
if ! "$PY" -c "import torch, torchvision" 2>/dev/null; then
    if [[ -s "$TORCH_PINS" ]] && run_step_soft "install torch + torchvision ($(tr '\n' ' ' <"$TORCH_PINS"), as resolved before on this machine) + base pins" \
            "${PIP[@]}" "${PIP_INSTALL[@]}" -c "$CONSTRAINTS" -r "$TORCH_PINS" "${BASE[@]}"; then
        :
    else
        run_step "install torch + torchvision + base pins (numpy<2, opencv 4.10, setuptools<70, ninja, mmengine)" \
            torch "${PIP[@]}" "${PIP_INSTALL[@]}" -c "$CONSTRAINTS" torch torchvision "${BASE[@]}"
    fi
else
    say "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
    run_step "install base pins (numpy<2, opencv 4.10, setuptools<70, ninja, mmengine)" \
        "numpy/opencv-python/setuptools/ninja/mmengine" "${PIP[@]}" "${PIP_INSTALL[@]}" -c "$CONSTRAINTS" "${BASE[@]}"
fi
"$PY" - >"$TORCH_PINS.tmp" <<'PYEOF'
from importlib.metadata import version
print(f"torch=={version('torch')}")
print(f"torchvision=={version('torchvision')}")
PYEOF
mv "$TORCH_PINS.tmp" "$TORCH_PINS"

# ----------------------------------------------------------------------- mmcv
# mmcv 2.1.0 ships only as an sdist. Its setup.py hard-codes -std=c++14/17,
# which current torch headers reject, so the flag is raised to c++20 before
# building. Only its CPU ops are built, also on GPU nodes: `import mmpose.models`
# needs mmcv.ops to import, and nothing here calls its CUDA kernels, whose build
# needs an nvcc matching torch's CUDA and takes several times longer. The wheel
# is cached per (python, torch) outside the checkout so fresh clones on the
# same machine install it in seconds.
MMCV_TAG="$("$PY" - <<'PYEOF'
import sys, torch
print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__.replace('+', '_')}-cpu")
PYEOF
)"
MMCV_CACHE="$WHEEL_DIR/mmcv-$PIN_MMCV_VERSION-$MMCV_TAG"
mkdir -p "$MMCV_CACHE"
MMCV_WHEEL="$(ls "$MMCV_CACHE"/mmcv-*.whl 2>/dev/null | head -n 1 || true)"
if [[ -z "$MMCV_WHEEL" ]]; then
    BUILD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mmcv-build.XXXXXX")"
    trap 'rm -rf "$BUILD_DIR"' EXIT
    run_step "download mmcv $PIN_MMCV_VERSION sdist" mmcv \
        "${PIP[@]}" download --no-deps --no-build-isolation --no-binary mmcv \
        "mmcv==$PIN_MMCV_VERSION" -d "$BUILD_DIR/sdist"
    tar -xzf "$BUILD_DIR"/sdist/mmcv-*.tar.gz -C "$BUILD_DIR" || fail "unpack mmcv sdist" mmcv
    SRC="$(ls -d "$BUILD_DIR"/mmcv-"$PIN_MMCV_VERSION")"
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    grep -q -- '-std=c++20' "$SRC/setup.py" || fail "patch mmcv C++ standard" mmcv
    say "building mmcv $PIN_MMCV_VERSION with ops ($MMCV_TAG); this takes 15-40 min on 2 cores, once per machine and torch version"
    # Build into a temp dir, then move: an interrupted build never leaves a
    # broken wheel in the cache.
    run_step "build mmcv $PIN_MMCV_VERSION wheel (compiled ops)" mmcv \
        env MMCV_WITH_OPS=1 FORCE_CUDA=0 CUDA_VISIBLE_DEVICES= MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" wheel --no-deps --no-build-isolation -w "$BUILD_DIR/wheel" "$SRC"
    mv "$BUILD_DIR"/wheel/mmcv-*.whl "$MMCV_CACHE/"
    MMCV_WHEEL="$(ls "$MMCV_CACHE"/mmcv-*.whl | head -n 1)"
else
    say "using cached mmcv wheel $MMCV_WHEEL"
fi
run_step "install mmcv $PIN_MMCV_VERSION" mmcv "${PIP[@]}" "${PIP_INSTALL[@]}" -c "$CONSTRAINTS" "$MMCV_WHEEL"
"$PY" -c "import mmcv.ops" 2>"$LOG_DIR/mmcv_ops_import.log" \
    || fail "import mmcv.ops (compiled ops)" mmcv "$LOG_DIR/mmcv_ops_import.log"

# ------------------------------------------------------------- OpenMMLab libs
# chumpy (an mmpose requirement) imports pip/numpy in its setup.py, so it
# cannot build in an isolated environment; the other packages are wheels or
# this checkout, so one --no-build-isolation call installs them all.
run_step "install chumpy, $PIN_MMDET, $PIN_MMPOSE, $PIN_MMPRETRAIN, mmpose_medsapiens (editable) + test tools" \
    "chumpy/mmdet/mmpose/mmpretrain/mmpose_medsapiens" \
    "${PIP[@]}" "${PIP_INSTALL[@]}" -c "$CONSTRAINTS" --no-build-isolation chumpy "$PIN_MMDET" "$PIN_MMPOSE" \
    "$PIN_MMPRETRAIN" -e "$ROOT[tests,deploy]"

"$PY" "$ROOT/tools/check_env.py" >"$LOG_DIR/check_env.log" 2>&1 \
    || fail "final environment check" "see log" "$LOG_DIR/check_env.log"
say "done: $(tail -n 1 "$LOG_DIR/check_env.log")"
