// Batched matmul, tiled through workgroup memory. Each workgroup computes a
// tileM x tileN block of C; each invocation a threadM x threadN sub-block held
// in vec4 registers. Per k-slice the workgroup stages A (tileM x tileK,
// k-major) and B (tileK x tileN) in shared memory in f32, converting f16 on
// load, so f16 accumulates in f32. Transposed operands are read in their
// stored order (no copies); operands whose contiguous extent and offsets are
// multiples of 4 are read four elements per load.

import type { BackendBuffer, MatmulDims, MatmulOperand } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { formatMatmulTile, type MatmulTile } from '../options.js';
import { ParamLayout, u32 } from '../params.js';
import { buildProgram } from '../program.js';
import { valueCodec, vec4Codec, type Binding } from '../wgsl/storage.js';
import { requireDType, requireNonNegativeInts, requireNumel, requireSameDType } from '../validate.js';

export const MATMUL_TILES = {
  /** 64 invocations of 8x8 outputs: fewer, busier invocations beat 256 of 4x4 (measured on lavapipe). */
  medium: { tileM: 64, tileN: 64, tileK: 8, threadM: 8, threadN: 8 },
  /** More reuse per loaded element for large outputs. */
  large: { tileM: 128, tileN: 128, tileK: 8, threadM: 8, threadN: 8 },
} as const satisfies Record<string, MatmulTile>;

export function chooseTile(m: number, n: number): MatmulTile {
  return m >= 512 && n >= 512 ? MATMUL_TILES.large : MATMUL_TILES.medium;
}

export function validateTile(tile: MatmulTile, maxWorkgroupStorageBytes: number, maxInvocations = 256): void {
  const { tileM, tileN, tileK, threadM, threadN } = tile;
  const problems: string[] = [];
  if (tileM % threadM !== 0 || tileN % threadN !== 0) problems.push('the tile must be a multiple of the per-invocation block');
  if (threadN % 4 !== 0) problems.push('threadN must be a multiple of 4 (vec4 accumulators)');
  if (tileM % 4 !== 0 || tileN % 4 !== 0 || tileK % 4 !== 0) problems.push('tileM, tileN and tileK must be multiples of 4');
  const invocations = (tileM / threadM) * (tileN / threadN);
  if (invocations > maxInvocations) problems.push(`${invocations} invocations per workgroup exceed ${maxInvocations}`);
  const shared = 4 * tileK * (tileM + tileN);
  if (shared > maxWorkgroupStorageBytes) problems.push(`${shared} bytes of workgroup memory exceed ${maxWorkgroupStorageBytes}`);
  if (problems.length > 0) throw new Error(`webgpu matmul: tile ${formatMatmulTile(tile)} is invalid: ${problems.join('; ')}`);
}

interface Variant {
  readonly tile: MatmulTile;
}

function matmulBody(v: Variant, params: ParamLayout): string {
  const { tileM: BM, tileN: BN, tileK: BK, threadM: TM, threadN: TN } = v.tile;
  const WX = BN / TN;
  const WY = BM / TM;
  const NT = WX * WY;
  const QN = TN / 4;
  const B4 = BN / 4;
  const rows = [...Array(TM).keys()];
  const quads = [...Array(QN).keys()];
  // Transposition is a param (a uniform branch), so one program serves all four layouts.
  const loadA = `  if (aVec != 0u && aT == 0u) {
    for (var v = tid; v < ${(BM * BK) / 4}u; v = v + ${NT}u) {
      let i = v / ${BK / 4}u; let kq = (v % ${BK / 4}u) * 4u;
      let gi = row0 + i; let gk = k0 + kq;
      var val = vec4<f32>(0.0);
      if (gi < M && gk < K) { val = ld4_a4((aBase + gi * K + gk) / 4u); }
      As[kq * ${BM}u + i] = val.x; As[(kq + 1u) * ${BM}u + i] = val.y;
      As[(kq + 2u) * ${BM}u + i] = val.z; As[(kq + 3u) * ${BM}u + i] = val.w;
    }
  } else if (aVec != 0u) {
    for (var v = tid; v < ${(BM * BK) / 4}u; v = v + ${NT}u) {
      let kk = v / ${BM / 4}u; let iq = (v % ${BM / 4}u) * 4u;
      let gi = row0 + iq; let gk = k0 + kk;
      var val = vec4<f32>(0.0);
      if (gi < M && gk < K) { val = ld4_a4((aBase + gk * M + gi) / 4u); }
      let at = kk * ${BM}u + iq;
      As[at] = val.x; As[at + 1u] = val.y; As[at + 2u] = val.z; As[at + 3u] = val.w;
    }
  } else {
    // Consecutive invocations take consecutive stored elements, so global reads coalesce.
    for (var v = tid; v < ${BM * BK}u; v = v + ${NT}u) {
      var i: u32; var kk: u32;
      if (aT == 0u) { kk = v % ${BK}u; i = v / ${BK}u; } else { i = v % ${BM}u; kk = v / ${BM}u; }
      let gi = row0 + i; let gk = k0 + kk;
      var val = 0.0;
      if (gi < M && gk < K) { val = ld_a(aBase + select(gi * K + gk, gk * M + gi, aT != 0u)); }
      As[kk * ${BM}u + i] = val;
    }
  }\n`;
  const loadB = `  if (bVec != 0u && bT == 0u) {
    for (var v = tid; v < ${(BK * BN) / 4}u; v = v + ${NT}u) {
      let kk = v / ${B4}u; let jq = (v % ${B4}u) * 4u;
      let gk = k0 + kk; let gj = col0 + jq;
      var val = vec4<f32>(0.0);
      if (gk < K && gj < N) { val = ld4_b4((bBase + gk * N + gj) / 4u); }
      Bs[kk * ${B4}u + jq / 4u] = val;
    }
  } else if (bVec != 0u) {
    for (var v = tid; v < ${(BK * BN) / 4}u; v = v + ${NT}u) {
      let j = v / ${BK / 4}u; let kq = (v % ${BK / 4}u) * 4u;
      let gk = k0 + kq; let gj = col0 + j;
      var val = vec4<f32>(0.0);
      if (gk < K && gj < N) { val = ld4_b4((bBase + gj * K + gk) / 4u); }
      let q = j / 4u; let c = j % 4u;
      Bs[kq * ${B4}u + q][c] = val.x; Bs[(kq + 1u) * ${B4}u + q][c] = val.y;
      Bs[(kq + 2u) * ${B4}u + q][c] = val.z; Bs[(kq + 3u) * ${B4}u + q][c] = val.w;
    }
  } else {
    for (var v = tid; v < ${BK * BN}u; v = v + ${NT}u) {
      var j: u32; var kk: u32;
      if (bT == 0u) { j = v % ${BN}u; kk = v / ${BN}u; } else { kk = v % ${BK}u; j = v / ${BK}u; }
      let gk = k0 + kk; let gj = col0 + j;
      var val = 0.0;
      if (gk < K && gj < N) { val = ld_b(bBase + select(gk * N + gj, gj * K + gk, bT != 0u)); }
      Bs[kk * ${B4}u + j / 4u][j % 4u] = val;
    }
  }\n`;
  const accDecl = rows.map((r) => quads.map((q) => `  var acc${r}_${q} = vec4<f32>(0.0);\n`).join('')).join('');
  const inner =
    quads.map((q) => `      let b${q} = Bs[kk * ${B4}u + tx * ${QN}u + ${q}u];\n`).join('') +
    rows.map((r) => `      let a${r} = As[kk * ${BM}u + ty * ${TM}u + ${r}u];\n`).join('') +
    rows.map((r) => quads.map((q) => `      acc${r}_${q} = acc${r}_${q} + a${r} * b${q};\n`).join('')).join('');
  const store = rows.map((r) => {
    let s = `  { let gi = row0 + ty * ${TM}u + ${r}u;\n    if (gi < M) {\n      let rb = outBase + gi * N;\n`;
    for (const q of quads) {
      for (let c = 0; c < 4; c++) {
        s += `      { let gj = col0 + tx * ${TN}u + ${q * 4 + c}u; if (gj < N) { st_out(rb + gj, acc${r}_${q}.${'xyzw'[c]}); } }\n`;
      }
    }
    return `${s}    }\n  }\n`;
  }).join('');
  return `
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * B4}>;

@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
${params.lets()}  let z = wid.z + zBase;
  let row0 = wid.y * ${BM}u;
  let col0 = wid.x * ${BN}u;
  let aBase = o_a + z * bs_a;
  let bBase = o_b + z * bs_b;
  let outBase = z * M * N;
  let tx = lid3.x;
  let ty = lid3.y;
${accDecl}  for (var k0 = 0u; k0 < K; k0 = k0 + ${BK}u) {
${loadA}${loadB}    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk = kk + 1u) {
${inner}    }
    workgroupBarrier();
  }
${store}}
`;
}

function extentOf(op: MatmulOperand, batch: number, rows: number, cols: number): number {
  return op.offset + (batch - 1) * op.batchStride + rows * cols;
}

export function matmul(host: KernelHost, dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer, forcedTile: MatmulTile | null): void {
  const { batch, m, n, k } = dims;
  const name = 'matmul';
  requireNonNegativeInts(name, { batch, m, n, k, 'a.offset': a.offset, 'b.offset': b.offset, 'a.batchStride': a.batchStride, 'b.batchStride': b.batchStride });
  requireDType(name, 'a', a.buffer, ['f32', 'f16']);
  requireSameDType(name, { a: a.buffer, b: b.buffer, out });
  const shapes = `(${batch}, ${m}, ${k}) @ (${batch}, ${k}, ${n})`;
  requireNumel(name, 'out', out, batch * m * n, shapes);
  if (batch * m * n === 0) return;
  if (m * k > 0) requireNumel(name, 'a', a.buffer, extentOf(a, batch, m, k), `${shapes}, a offset ${a.offset}, batch stride ${a.batchStride}`);
  if (k * n > 0) requireNumel(name, 'b', b.buffer, extentOf(b, batch, k, n), `${shapes}, b offset ${b.offset}, batch stride ${b.batchStride}`);
  const tile = forcedTile ?? chooseTile(m, n);
  validateTile(tile, host.maxWorkgroupStorageBytes);
  const dtype = out.dtype;
  const codec = valueCodec(dtype, host.f16Mode);
  const aligned = (op: MatmulOperand, contiguousExtent: number) => contiguousExtent % 4 === 0 && op.offset % 4 === 0 && op.batchStride % 4 === 0;
  const v: Variant = { tile };
  const key = `matmul:${codec}:${formatMatmulTile(tile)}`;
  const params = new ParamLayout(['M', 'N', 'K', 'o_a', 'bs_a', 'o_b', 'bs_b', 'zBase', 'aT', 'bT', 'aVec', 'bVec'].map(u32));
  // Each operand is bound twice, as elements and as groups of four; a param picks the view, so
  // one program serves every layout (fewer pipelines to compile) and a branch on a uniform costs nothing.
  const bindings: Binding[] = [
    { name: 'out', codec, access: 'readwrite' },
    { name: 'a', codec, access: 'read' },
    { name: 'a4', codec: vec4Codec(codec), access: 'read' },
    { name: 'b', codec, access: 'read' },
    { name: 'b4', codec: vec4Codec(codec), access: 'read' },
  ];
  const build = () => buildProgram({ key, label: `matmul[${dtype}]`, bindings, params, body: matmulBody(v, params) });
  const gx = Math.ceil(n / tile.tileN);
  const gy = Math.ceil(m / tile.tileM);
  const limit = host.maxWorkgroupsPerDimension;
  if (gx > limit || gy > limit) throw new Error(`webgpu matmul: ${shapes} needs ${gy} x ${gx} tiles, beyond ${limit} per dimension`);
  for (let zBase = 0; zBase < batch; zBase += limit) {
    const z = Math.min(limit, batch - zBase);
    host.run(key, build, [out, a.buffer, a.buffer, b.buffer, b.buffer], {
      M: m, N: n, K: k, o_a: a.offset, bs_a: a.batchStride, o_b: b.offset, bs_b: b.batchStride, zBase,
      aT: a.transposed ? 1 : 0, bT: b.transposed ? 1 : 0,
      aVec: aligned(a, a.transposed ? m : k) ? 1 : 0, bVec: aligned(b, b.transposed ? k : n) ? 1 : 0,
    }, [gx, gy, z]);
  }
}
