// Kernel parameters (shapes, strides, offsets, scalars) travel in a uniform
// block, so one compiled pipeline serves every shape. A ParamLayout assigns
// each named parameter a 32-bit slot; the host packs values into those slots
// and the WGSL reads them back through accessors the layout generates.

export type ParamType = 'u32' | 'i32' | 'f32';

export interface ParamDecl {
  readonly name: string;
  readonly type: ParamType;
}

export type ParamValues = Readonly<Record<string, number>>;

export class ParamLayout {
  private readonly slots = new Map<string, { index: number; type: ParamType }>();
  readonly decls: readonly ParamDecl[];

  constructor(decls: readonly ParamDecl[]) {
    this.decls = decls;
    decls.forEach((d, index) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) throw new Error(`param name '${d.name}' is not a WGSL identifier`);
      if (this.slots.has(d.name)) throw new Error(`param '${d.name}' declared twice`);
      this.slots.set(d.name, { index, type: d.type });
    });
  }

  /** Bytes of the uniform block (whole vec4s, at least one). */
  get byteSize(): number {
    return Math.max(1, Math.ceil(this.decls.length / 4)) * 16;
  }

  /** WGSL declaration of the block at binding 0 of group 0. */
  declaration(): string {
    const vec4s = Math.max(1, Math.ceil(this.decls.length / 4));
    return `struct Params { v: array<vec4<u32>, ${vec4s}> }\n@group(0) @binding(0) var<uniform> P: Params;\n${this.indexedAccessor()}`;
  }

  /** The slot index of a parameter (params declared one after another occupy consecutive slots). */
  slot(name: string): number {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`param '${name}' is not in the layout (${this.decls.map((d) => d.name).join(', ')})`);
    return slot.index;
  }

  /** A WGSL function `prm_(i)` reading slot i as raw bits, for parameters indexed at run time. */
  indexedAccessor(): string {
    return 'fn prm_(i: u32) -> u32 { return P.v[i >> 2u][i & 3u]; }\n';
  }

  /** A WGSL expression reading one parameter. */
  expr(name: string): string {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`param '${name}' is not in the layout (${this.decls.map((d) => d.name).join(', ')})`);
    const raw = `P.v[${slot.index >> 2}].${'xyzw'[slot.index & 3]}`;
    return slot.type === 'u32' ? raw : `bitcast<${slot.type}>(${raw})`;
  }

  /** `let name = ...;` for every parameter, to open a shader's main(). */
  lets(): string {
    return this.decls.map((d) => `  let ${d.name} = ${this.expr(d.name)};\n`).join('');
  }

  /** Writes the values into `words` (a Uint32Array over the uniform arena) at word index `at`. */
  pack(values: ParamValues, words: Uint32Array, floats: Float32Array, at: number): void {
    for (const d of this.decls) {
      const slot = this.slots.get(d.name)!;
      const v = values[d.name];
      if (v === undefined || Number.isNaN(v) && d.type !== 'f32') throw new Error(`param '${d.name}' has no value`);
      const i = at + slot.index;
      if (d.type === 'f32') floats[i] = v;
      else if (d.type === 'i32') words[i] = v | 0;
      else {
        if (v < 0 || v > 0xffffffff || !Number.isInteger(v)) throw new Error(`param '${d.name}' = ${v} does not fit a u32`);
        words[i] = v;
      }
    }
  }
}

export const u32 = (name: string): ParamDecl => ({ name, type: 'u32' });
export const i32 = (name: string): ParamDecl => ({ name, type: 'i32' });
export const f32 = (name: string): ParamDecl => ({ name, type: 'f32' });
