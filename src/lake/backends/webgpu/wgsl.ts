/**
 * The WGSL kernels. One invocation computes one unit of one vector for one layer; a batch runs one dispatch
 * per layer, all in one command buffer, with activations in a scratch buffer between them. Every pass
 * shares one bind group layout:
 *   0 uniform Pass (below), 1 the module's parameters (weights and biases, packed),
 *   2 the lakeShm mirror holding the inputs, 3 the scratch buffer (activations, then the results).
 * Grids wider than the per-dimension limit fold into y: item = y * stride + x.
 */
const PASS = /* wgsl */ `
struct Pass {
  n: u32, units: u32, inWidth: u32, xsAt: u32,
  wAt: u32, bAt: u32, inAt: u32, outAt: u32,
  shift: u32, relu: u32, fromXs: u32, stride: u32,
  pad0: u32, pad1: u32, pad2: u32, pad3: u32,
}
@group(0) @binding(0) var<uniform> pass_: Pass;
`;

/**
 * The opening of an entry point that computes one unit: `index` (vector v, unit j, unfolded from the grid;
 * invocations past the last unit return) and `sum` starting at unit j's bias.
 */
function unitEntry(name: string): string {
  return /* wgsl */ `@compute @workgroup_size(${WORKGROUP})
fn ${name}(@builtin(global_invocation_id) g: vec3u) {
  let index = g.y * pass_.stride + g.x;
  if (index >= pass_.n * pass_.units) { return; }
  let v = index / pass_.units;
  let j = index - v * pass_.units;
  var sum = params[pass_.bAt + j];`;
}

/** Bytes of the Pass uniform (16 u32). */
export const PASS_BYTES = 64;
export const WORKGROUP = 64;

/**
 * LinnOS, integer: layer 0 sums the table rows its digits choose (the cpu-wasm kernel's table, so no
 * multiplications), hidden layers are int32 dot products shifted right and clamped to [0, 32767] (WASM's
 * shr_s, saturating narrow to int16 and max 0), the output layer leaves the two raw int32 sums.
 * Digits are bytes of the mirror (4 per u32 word, little-endian); xsAt is a byte offset.
 */
export const LINNOS_WGSL = /* wgsl */ `${PASS}
@group(0) @binding(1) var<storage, read> params: array<i32>;
@group(0) @binding(2) var<storage, read> xs: array<u32>;
@group(0) @binding(3) var<storage, read_write> act: array<i32>;

fn digit(at: u32) -> u32 {
  return (xs[at >> 2u] >> ((at & 3u) * 8u)) & 0xffu;
}

${unitEntry('layer0')}
  let base = pass_.xsAt + v * pass_.inWidth;
  for (var i = 0u; i < pass_.inWidth; i++) {
    sum += params[pass_.wAt + (i * 10u + digit(base + i)) * pass_.units + j];
  }
  act[pass_.outAt + index] = max(sum, 0);
}

${unitEntry('dense')}
  let row = pass_.wAt + j * pass_.inWidth;
  let h = pass_.inAt + v * pass_.inWidth;
  for (var k = 0u; k < pass_.inWidth; k++) {
    sum += act[h + k] * params[row + k];
  }
  if (pass_.relu != 0u) { sum = clamp(sum >> pass_.shift, 0, 32767); }
  act[pass_.outAt + index] = sum;
}
`;

/**
 * Dense f32: y = W x + b, ReLU between layers (DenseForward's order: the bias first, then the products in
 * input order). f32 accumulation (and fused multiply-adds where the GPU contracts them) against cpu-wasm's
 * double accumulation: results agree within the tolerance verify.ts states, not bit for bit.
 * xsAt is an f32 index into the mirror.
 */
export const DENSE_WGSL = /* wgsl */ `${PASS}
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> xs: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;

${unitEntry('dense')}
  let row = pass_.wAt + j * pass_.inWidth;
  if (pass_.fromXs != 0u) {
    let x = pass_.xsAt + v * pass_.inWidth;
    for (var k = 0u; k < pass_.inWidth; k++) { sum += params[row + k] * xs[x + k]; }
  } else {
    let h = pass_.inAt + v * pass_.inWidth;
    for (var k = 0u; k < pass_.inWidth; k++) { sum += params[row + k] * act[h + k]; }
  }
  if (pass_.relu != 0u && sum < 0.0) { sum = 0.0; }
  act[pass_.outAt + index] = sum;
}
`;
