#!/usr/bin/env bash
# Packs what scripts/gpu/measure.sh needs on a GPU machine without Node into .gpu/ (git-ignored):
#   .gpu/node.xz       this machine's node binary (Node 20, needs glibc >= 2.28), xz-compressed
#   .gpu/lake.tar.xz   lake/{package.json, dist/, node_modules/ (production dependencies only, the
#                      optional koffi and webgpu trimmed to linux-x64), lib/libvulkan.so.1 for Dawn}
# Run from the repository root after `npm run build` (dist/ must be current). Carry the folder with the
# checkout (it stays under 64 MiB: the device tool's limit for carried paths) and run measure.sh there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
[ -f dist/cli/main.js ] || { echo "prepare.sh: dist/ is missing: run npm run build first" >&2; exit 1; }
out="$root/.gpu"
mkdir -p "$out"
stage="$(mktemp -d "${TMPDIR:-/tmp}/lake-gpu-stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lake/lib"
cp -r dist package.json "$stage/lake/"
# Production dependencies as npm resolved them (nested copies merge: cp -r DIR/. TARGET).
npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | sort -u | while read -r dir; do
  rel="${dir#"$root"/}"
  mkdir -p "$stage/lake/$rel"
  cp -r "$dir/." "$stage/lake/$rel/"
done
nm="$stage/lake/node_modules"
# Dawn ships a binary per platform; the GPU machine is linux-x64.
if [ -d "$nm/webgpu/dist" ]; then
  find "$nm/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name 'linux-x64' -exec rm -rf {} +
fi
# koffi loads from its src/ folder: keep it (only its docs and the build-time vendor headers go).
rm -rf "$nm/webgpu/build" "$nm/koffi/vendor" "$nm/koffi/doc" "$nm/@types"
find "$stage/lake" -name '*.map' -delete
vulkan="$(ldconfig -p 2>/dev/null | awk '/libvulkan\.so\.1 .*x86-64/ { print $NF; exit }')"
[ -n "$vulkan" ] && cp -L "$vulkan" "$stage/lake/lib/libvulkan.so.1"
tar -C "$stage" -cf - lake | xz -T0 -6 >"$out/lake.tar.xz.tmp"
mv "$out/lake.tar.xz.tmp" "$out/lake.tar.xz"
node_bin="$(command -v node)"
version="$("$node_bin" --version)"
if [ ! -f "$out/node.xz" ] || [ "$(cat "$out/node.version" 2>/dev/null)" != "$version" ]; then
  xz -T0 -6 -c "$node_bin" >"$out/node.xz.tmp"
  mv "$out/node.xz.tmp" "$out/node.xz"
  echo "$version" >"$out/node.version"
fi
du -b "$out"/node.xz "$out"/lake.tar.xz | awk '{ total += $1; print } END { printf "total %.1f MiB (carry limit 64 MiB)\n", total / 1048576 }'
