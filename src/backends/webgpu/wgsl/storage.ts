// How each dtype lives in a storage buffer, and the WGSL helpers that read
// and write one element. Kernels compute in f32 (or i32) and call these
// helpers, so one kernel body serves every storage form:
//   f32, i32  plain arrays
//   f16       native `array<f16>` (shader-f16)
//   f16p      packed: two halves per u32 (element e is half e&1 of word e>>1);
//             writable packed buffers are atomic so two invocations may each
//             write their half of a shared word without a race
//   b32       raw 32-bit words, for bit-exact moves of f32/i32 (copy, gather)
//   a32       32-bit words written with atomics (a flag several invocations may set)
//   f32x4, f16x4, f16px4   read-only views of four elements at a time, for
//             aligned vector loads (ld4_X(q) reads elements 4q .. 4q+3)
// Helper names: ld_X (value), raw_X (bits), st_X (store value), strw_X (store
// bits), and for packed buffers st2_X/strw2_X (store a whole word of two
// halves) and add_X (read-modify-write add of one element).

import type { DType } from '../../../tensor/dtype.js';
import type { F16Mode } from '../adapter.js';

export type Codec = 'f32' | 'i32' | 'f16' | 'f16p' | 'b32' | 'a32' | 'f32x4' | 'f16x4' | 'f16px4';
export type Access = 'read' | 'readwrite';

export interface Binding {
  readonly name: string;
  readonly codec: Codec;
  readonly access: Access;
}

export function valueCodec(dtype: DType, f16Mode: F16Mode): Codec {
  switch (dtype) {
    case 'f32': return 'f32';
    case 'i32': return 'i32';
    case 'f16': return f16Mode === 'native' ? 'f16' : 'f16p';
    case 'f64': throw new Error('webgpu backend: f64 has no WGSL type; use the cpu backend for f64');
  }
}

/** Codec for moving bits: 32-bit dtypes as raw words, f16 as itself. */
export function bitsCodec(dtype: DType, f16Mode: F16Mode): Codec {
  return dtype === 'f16' ? valueCodec(dtype, f16Mode) : dtype === 'f64' ? valueCodec(dtype, f16Mode) : 'b32';
}

export const isPacked = (c: Codec) => c === 'f16p';
export const usesF16 = (bindings: readonly Binding[]) => bindings.some((b) => b.codec === 'f16' || b.codec === 'f16x4');

/** The four-element view of a codec, for aligned vector loads. */
export function vec4Codec(c: Codec): Codec {
  switch (c) {
    case 'f32': return 'f32x4';
    case 'f16': return 'f16x4';
    case 'f16p': return 'f16px4';
    default: throw new Error(`no vec4 view of codec ${c}`);
  }
}

/** WGSL element type of a buffer. */
function elementType(b: Binding): string {
  switch (b.codec) {
    case 'f32': return 'f32';
    case 'i32': return 'i32';
    case 'f16': return 'f16';
    case 'b32': return 'u32';
    case 'a32': return 'atomic<u32>';
    case 'f16p': return b.access === 'read' ? 'u32' : 'atomic<u32>';
    case 'f32x4': return 'vec4<f32>';
    case 'f16x4': return 'vec4<f16>';
    case 'f16px4': return 'vec2<u32>';
  }
}

/** Declarations (binding index i+1; 0 is the params block) plus the element helpers of every binding. */
export function declareBindings(bindings: readonly Binding[]): string {
  let out = '';
  bindings.forEach((b, i) => {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(b.name)) throw new Error(`binding name '${b.name}' must be a plain identifier`);
    const access = b.access === 'read' ? 'read' : 'read_write';
    out += `@group(0) @binding(${i + 1}) var<storage, ${access}> ${b.name}: array<${elementType(b)}>;\n`;
    out += helpers(b);
  });
  return out;
}

function helpers(b: Binding): string {
  const n = b.name;
  const rw = b.access === 'readwrite';
  if ((b.codec === 'f32x4' || b.codec === 'f16x4' || b.codec === 'f16px4') && rw) throw new Error(`binding ${n}: vector views are read-only`);
  switch (b.codec) {
    case 'f32x4':
      return `fn ld4_${n}(q_: u32) -> vec4<f32> { return ${n}[q_]; }\n`;
    case 'f16x4':
      return `fn ld4_${n}(q_: u32) -> vec4<f32> { return vec4<f32>(${n}[q_]); }\n`;
    case 'f16px4':
      return `fn ld4_${n}(q_: u32) -> vec4<f32> {\n  let w_ = ${n}[q_];\n` +
        `  return vec4<f32>(f16_value(w_.x & 0xffffu), f16_value(w_.x >> 16u), f16_value(w_.y & 0xffffu), f16_value(w_.y >> 16u));\n}\n`;
    case 'f32':
      return `fn ld_${n}(e_: u32) -> f32 { return ${n}[e_]; }\n` +
        `fn raw_${n}(e_: u32) -> u32 { return bitcast<u32>(${n}[e_]); }\n` +
        (rw ? `fn st_${n}(e_: u32, v_: f32) { ${n}[e_] = v_; }\nfn strw_${n}(e_: u32, bits_: u32) { ${n}[e_] = bitcast<f32>(bits_); }\n` +
          `fn add_${n}(e_: u32, v_: f32) { ${n}[e_] = ${n}[e_] + v_; }\n` : '');
    case 'i32':
      return `fn ld_${n}(e_: u32) -> i32 { return ${n}[e_]; }\n` +
        `fn raw_${n}(e_: u32) -> u32 { return bitcast<u32>(${n}[e_]); }\n` +
        (rw ? `fn st_${n}(e_: u32, v_: i32) { ${n}[e_] = v_; }\nfn strw_${n}(e_: u32, bits_: u32) { ${n}[e_] = bitcast<i32>(bits_); }\n` : '');
    case 'a32':
      return `fn set_${n}(e_: u32, bits_: u32) { atomicStore(&${n}[e_], bits_); }\n`;
    case 'b32':
      return `fn raw_${n}(e_: u32) -> u32 { return ${n}[e_]; }\n` +
        (rw ? `fn strw_${n}(e_: u32, bits_: u32) { ${n}[e_] = bits_; }\n` : '');
    case 'f16':
      return `fn ld_${n}(e_: u32) -> f32 { return f32(${n}[e_]); }\n` +
        `fn raw_${n}(e_: u32) -> u32 { return bitcast<u32>(vec2<f16>(${n}[e_], 0.0h)) & 0xffffu; }\n` +
        (rw ? `fn st_${n}(e_: u32, v_: f32) { ${n}[e_] = f16(v_); }\n` +
          `fn strw_${n}(e_: u32, bits_: u32) { ${n}[e_] = bitcast<vec2<f16>>(bits_ & 0xffffu).x; }\n` +
          `fn add_${n}(e_: u32, v_: f32) { ${n}[e_] = f16(f32(${n}[e_]) + v_); }\n` : '');
    case 'f16p': {
      const word = rw ? `atomicLoad(&${n}[e_ >> 1u])` : `${n}[e_ >> 1u]`;
      let s = `fn raw_${n}(e_: u32) -> u32 { return half_of(${word}, e_); }\n` +
        `fn ld_${n}(e_: u32) -> f32 { return f16_value(raw_${n}(e_)); }\n`;
      if (rw) {
        // Clearing then setting only this element's 16 bits leaves the other half to whoever owns it.
        s += `fn strw_${n}(e_: u32, bits_: u32) {\n` +
          `  let shift = (e_ & 1u) * 16u;\n` +
          `  atomicAnd(&${n}[e_ >> 1u], ~(0xffffu << shift));\n` +
          `  atomicOr(&${n}[e_ >> 1u], (bits_ & 0xffffu) << shift);\n}\n` +
          `fn st_${n}(e_: u32, v_: f32) { strw_${n}(e_, f16_bits(v_)); }\n` +
          `fn strw2_${n}(w_: u32, bits_: u32) { atomicStore(&${n}[w_], bits_); }\n` +
          `fn st2_${n}(w_: u32, v0_: f32, v1_: f32) { atomicStore(&${n}[w_], f16_bits(v0_) | (f16_bits(v1_) << 16u)); }\n` +
          // The new half depends on the old one, so retry until no other half changed under us.
          `fn add_${n}(e_: u32, v_: f32) {\n` +
          `  let shift = (e_ & 1u) * 16u;\n` +
          `  var old = atomicLoad(&${n}[e_ >> 1u]);\n` +
          `  loop {\n` +
          `    let sum = f16_bits(f16_value((old >> shift) & 0xffffu) + v_);\n` +
          `    let next = (old & ~(0xffffu << shift)) | (sum << shift);\n` +
          `    let r = atomicCompareExchangeWeak(&${n}[e_ >> 1u], old, next);\n` +
          `    if (r.exchanged) { break; }\n` +
          `    old = r.old_value;\n` +
          `  }\n}\n`;
      }
      return s;
    }
  }
}

/** The header every shader starts with: `enable f16;` when a native f16 buffer is used. */
export function shaderHeader(bindings: readonly Binding[], extraF16 = false): string {
  return usesF16(bindings) || extraF16 ? 'enable f16;\n' : '';
}
