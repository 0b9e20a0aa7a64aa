#!/usr/bin/env bash
# The GPU measurement (issue 12, item 7) on a machine with the NVIDIA driver, Python and PyTorch but no
# Node: runs scripts/gpu/measure.mjs with the node binary and the built lake that scripts/gpu/prepare.sh
# packed into .gpu/ (see scripts/gpu/README.md). Prints one JSON object on stdout; with $OUT set, also
# writes it to $OUT/gpu-measure.json. Exits 0 when a part could not be measured (the JSON says why).
#
# Usage (from the repository root): scripts/gpu/measure.sh [measure.mjs flags, e.g. --dry-run]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$root/.gpu"
work="$(mktemp -d "${TMPDIR:-/tmp}/lake-gpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# xz without the xz tool: Python's lzma (the GPU machine has Python).
unxz_to() { # unxz_to FILE.xz TARGET
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

if [ -f "$bundle/node.xz" ]; then
  unxz_to "$bundle/node.xz" "$work/node"
  chmod +x "$work/node"
  node="$work/node"
  if ! "$node" --version >/dev/null 2>&1; then
    # A temporary folder mounted noexec: unpack beside the bundle instead (removed on exit too).
    rm -rf "$work"
    work="$(mktemp -d "$bundle/run.XXXXXX")"
    unxz_to "$bundle/node.xz" "$work/node"
    chmod +x "$work/node"
    node="$work/node"
  fi
elif command -v node >/dev/null 2>&1; then
  node="$(command -v node)"
else
  echo '{"error": "no node: run scripts/gpu/prepare.sh where Node is installed and carry .gpu/ (scripts/gpu/README.md)"}'
  exit 1
fi

if [ -f "$bundle/lake.tar.xz" ]; then
  unxz_to "$bundle/lake.tar.xz" "$work/lake.tar"
  tar -xf "$work/lake.tar" -C "$work"
  rm -f "$work/lake.tar"
  lake_root="$work/lake"
  # Dawn (webgpu) needs the Vulkan loader; the NVIDIA driver brings its ICD.
  export LD_LIBRARY_PATH="$lake_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  lake_root="$root" # a checkout with dist/ built and node_modules installed
fi
# measure.mjs, contention.mjs and matmul-load.py come from this checkout; lake itself from the bundle.
export PATH="$(dirname "$node"):$PATH"
"$node" "$root/scripts/gpu/measure.mjs" --root "$lake_root" --out "${OUT:-}" "$@"
