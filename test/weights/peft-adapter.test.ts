// PEFT LoRA adapter interop. The golden adapter (scripts/make-hf-goldens.py)
// has random non-zero A and B on q_proj, k_proj and v_proj, made in HF's
// permuted row space, and PyTorch's logits for the HF-style forward with it.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const GOLDENS = fileURLToPath(new URL('../goldens/hf-llama/', import.meta.url));
const MODEL = join(GOLDENS, 'model');
const ADAPTER = join(GOLDENS, 'lora-adapter');
const scratch = mkdtempSync(join(tmpdir(), 'gradlab-peft-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let expected: Map<string, g.Tensor>;
beforeAll(async () => {
  g.useBackend(new g.CpuBackend());
  expected = await g.loadSafetensors(join(GOLDENS, 'expected.safetensors'));
});
afterAll(() => g.dispose([...expected.values()]));

const base = async (dtype: 'f32' | 'f64' = 'f32') => (await g.loadHuggingFaceLlama(MODEL, { dtype })).model;

async function logitsOf(model: g.Transformer): Promise<Float32Array | Float64Array> {
  const logits = g.noGrad(() => model.eval().forward(expected.get('tokens')!));
  const values = await logits.data();
  logits.dispose();
  return values as Float32Array | Float64Array;
}

async function relativeError(got: ArrayLike<number>, name: string): Promise<number> {
  const want = await expected.get(name)!.data();
  const scale = Math.max(...Array.from(want, Math.abs));
  return Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]))) / scale;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('PEFT LoRA adapters', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`the golden adapter loaded onto the HF base gives PyTorch's logits (${dtype})`, async () => {
      const model = await base(dtype);
      const { config, adapted } = await g.loadPeftAdapter(model, ADAPTER);
      expect(config).toEqual({
        peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0.1,
        target_modules: ['q_proj', 'k_proj', 'v_proj'], bias: 'none', base_model_name_or_path: 'gradlab-goldens/tiny-hf-llama',
      });
      expect(adapted.sort()).toEqual(['layers.0.attention.wk', 'layers.0.attention.wq', 'layers.0.attention.wv', 'layers.1.attention.wk', 'layers.1.attention.wq', 'layers.1.attention.wv']);
      const wq = model.layers[0].attention.wq as g.LoRALinear;
      expect([wq.r, wq.scaling, wq.dropoutP, wq.weight.requiresGrad, wq.lora_B.requiresGrad]).toEqual([4, 2, 0.1, false, true]);
      // The adapter moves the logits by up to ~15: without it (or with B un-permuted) this fails by far.
      expect(await relativeError(await logitsOf(model), `lora.logits.${dtype}`)).toBeLessThan(dtype === 'f64' ? 1e-12 : 1e-5);
      model.dispose();
    });
  }

  it("exporting the loaded adapter reproduces the golden file: same keys, shapes and values (B rows in HF's order)", async () => {
    const model = await base();
    await g.loadPeftAdapter(model, ADAPTER);
    const out = join(scratch, 'reexport');
    const config = await g.savePeftAdapter(model, out, { baseModel: 'gradlab-goldens/tiny-hf-llama' });
    expect(config.target_modules).toEqual(['q_proj', 'k_proj', 'v_proj']);
    const mine = await g.loadSafetensors(join(out, 'adapter_model.safetensors'));
    const golden = await g.loadSafetensors(join(ADAPTER, 'adapter_model.safetensors'));
    expect([...mine.keys()].sort()).toEqual([...golden.keys()].sort());
    expect([...mine.keys()]).toContain('base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight');
    for (const [key, t] of golden) {
      expect([...mine.get(key)!.shape], key).toEqual([...t.shape]);
      expect(Array.from(await mine.get(key)!.data()), key).toEqual(Array.from(await t.data()));
    }
    // Fields as the golden (PEFT-style) config has them.
    const written = readJson(join(out, 'adapter_config.json'));
    const goldenJson = readJson(join(ADAPTER, 'adapter_config.json'));
    for (const field of ['peft_type', 'task_type', 'r', 'lora_alpha', 'lora_dropout', 'target_modules', 'bias', 'fan_in_fan_out', 'inference_mode', 'base_model_name_or_path']) {
      expect(written[field], field).toEqual(goldenJson[field]);
    }
    // Written through temporaries and renames: nothing else is left in the directory.
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    g.dispose([...mine.values(), ...golden.values()]);
    model.dispose();
  });

  it("q_proj's B goes to HF's rows as the converter's permute moves wq's rows; A and v_proj's B stay as they are", async () => {
    // One head of 8 rows: Meta rows (pairs) 0..7 -> HF order [0, 2, 4, 6, 1, 3, 5, 7], i.e. HF row j*4+i holds Meta row 2i+j.
    const model = new g.Transformer({ dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 8, multipleOf: 16, normEps: 1e-5, maxSeqLen: 4 });
    g.applyLora(model, { r: 2, alpha: 2, dropout: 0, targets: ['wq', 'wk', 'wv'] });
    const rowTagged = (rows: number) => g.tensor(Float32Array.from({ length: rows * 2 }, (_, k) => 10 * Math.floor(k / 2) + (k % 2)), [rows, 2]);
    const values = new Map<string, g.Tensor>([
      ['layers.0.attention.wq.lora_B', rowTagged(16)],
      ['layers.0.attention.wk.lora_B', rowTagged(8)],
      ['layers.0.attention.wv.lora_B', rowTagged(8)],
    ]);
    model.loadStateDict(values, { strict: false });
    const out = join(scratch, 'row-order');
    await g.savePeftAdapter(model, out);
    const file = await g.loadSafetensors(join(out, 'adapter_model.safetensors'));
    const rowsOf = async (key: string) => {
      const v = await file.get(`base_model.model.model.layers.0.self_attn.${key}.lora_B.weight`)!.data();
      return Array.from({ length: v.length / 2 }, (_, r) => v[2 * r] / 10);
    };
    const oneHead = [0, 2, 4, 6, 1, 3, 5, 7];
    expect(await rowsOf('q_proj')).toEqual([...oneHead, ...oneHead.map((r) => r + 8)]); // 2 heads
    expect(await rowsOf('k_proj')).toEqual(oneHead); // 1 kv head
    expect(await rowsOf('v_proj')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const a = file.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!;
    expect(Array.from(await a.data())).toEqual(Array.from(await (model.layers[0].attention.wq as g.LoRALinear).lora_A.data()));
    g.dispose([...values.values(), ...file.values()]);
    model.dispose();
  });

  it('a LoRA model exported and loaded into a fresh base gives identical logits (all seven projections)', async () => {
    const trained = await base();
    g.applyLora(trained, { r: 2, alpha: 3, dropout: 0.05, targets: ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] });
    // Trained-looking factors: B non-zero everywhere.
    g.manualSeed(7);
    const bs = new Map(trained.namedParameters().filter(([n]) => n.endsWith('lora_B')).map(([n, p]) => [n, g.randn([...p.shape], { std: 0.3 })]));
    trained.loadStateDict(bs, { strict: false });
    const out = join(scratch, 'roundtrip');
    const config = await g.savePeftAdapter(trained, out);
    expect(config).toMatchObject({ r: 2, lora_alpha: 3, lora_dropout: 0.05, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    const reader = await g.SafetensorsReader.open(join(out, 'adapter_model.safetensors'));
    expect(reader.names().length).toBe(2 * 7 * 2);
    expect(reader.entry('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight').shape).toEqual([2, 72]);
    expect(reader.entry('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight').shape).toEqual([32, 2]);
    await reader.close();

    const fresh = await base();
    await g.loadPeftAdapter(fresh, out);
    const want = await logitsOf(trained);
    expect(Array.from(await logitsOf(fresh))).toEqual(Array.from(want));
    expect(await relativeError(want, 'model.logits.f32')).toBeGreaterThan(1e-2); // the adapter matters
    // Loading again into the same LoRA layers is allowed (resuming); a different rank is not.
    await g.loadPeftAdapter(fresh, out);
    expect(Array.from(await logitsOf(fresh))).toEqual(Array.from(want));
    await expect(g.loadPeftAdapter(fresh, ADAPTER)).rejects.toThrow(/the model already has LoRA layers that differ from the adapter's \(r 4, lora_alpha 8, target_modules q_proj, k_proj, v_proj\)/);
    g.dispose([...bs.values()]);
    trained.dispose();
    fresh.dispose();
  });

  it('an f16 export is read back into an f32 model', async () => {
    const model = await base();
    await g.loadPeftAdapter(model, ADAPTER);
    const out = join(scratch, 'f16');
    await g.savePeftAdapter(model, out, { dtype: 'F16' });
    const reader = await g.SafetensorsReader.open(join(out, 'adapter_model.safetensors'));
    expect(reader.entry('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight').dtype).toBe('F16');
    await reader.close();
    const fresh = await base();
    await g.loadPeftAdapter(fresh, out);
    expect(await relativeError(await logitsOf(fresh), 'lora.logits.f32')).toBeLessThan(1e-2);
    model.dispose();
    fresh.dispose();
  });
});

describe('PEFT adapter errors', () => {
  function brokenCopy(name: string, editConfig?: (c: Record<string, unknown>) => void): string {
    const dir = join(scratch, name);
    cpSync(ADAPTER, dir, { recursive: true });
    if (editConfig) {
      const c = readJson(join(dir, 'adapter_config.json'));
      editConfig(c);
      writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(c));
    }
    return dir;
  }

  async function loadError(dir: string): Promise<string> {
    const model = await base();
    const err = await g.loadPeftAdapter(model, dir).then(() => null, (e: unknown) => e);
    // Validation comes first: a failed load leaves the model without LoRA.
    expect(model.namedParameters().some(([n]) => n.includes('lora_'))).toBe(false);
    model.dispose();
    expect(err).toBeInstanceOf(Error);
    return (err as Error).message;
  }

  it('unsupported config fields are named', async () => {
    const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
      ['ia3', (c) => { c.peft_type = 'IA3'; }, /adapter_config\.json: unsupported PEFT adapter config: 'peft_type' is "IA3"; gradlab loads "LORA" adapters only/],
      ['dora', (c) => { c.use_dora = true; }, /'use_dora' is true; gradlab needs false/],
      ['rslora', (c) => { c.use_rslora = true; }, /'use_rslora' is true; gradlab needs false \(gradlab's scaling is lora_alpha \/ r\)/],
      ['regex', (c) => { c.target_modules = '.*proj'; }, /'target_modules' is the pattern "\.\*proj"/],
      ['embed', (c) => { c.target_modules = ['q_proj', 'embed_tokens']; }, /'target_modules' has "embed_tokens"/],
      ['proto', (c) => { c.target_modules = ['q_proj', 'toString', 'constructor']; }, /'target_modules' has "toString", "constructor"/],
      ['rank', (c) => { c.r = 0; }, /'r' is 0; it must be a positive integer/],
      ['pattern', (c) => { c.rank_pattern = { q_proj: 8 }; }, /'rank_pattern' is \{"q_proj":8\}; gradlab needs no per-module ranks/],
      ['layers', (c) => { c.layers_to_transform = [0]; }, /'layers_to_transform' is \[0\]; gradlab needs null/],
    ];
    for (const [name, edit, pattern] of cases) expect(await loadError(brokenCopy(`cfg-${name}`, edit)), name).toMatch(pattern);
  });

  it('a rank that does not match the tensors names each tensor and both shapes', async () => {
    const message = await loadError(brokenCopy('wrong-r', (c) => { c.r = 8; }));
    expect(message).toMatch(/adapter_model\.safetensors: does not fit this model and adapter_config\.json: 12 problem\(s\)/);
    expect(message).toContain("tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' is [4, 32], but r 8 and the model make it [8, 32]");
  });

  it('missing and unexpected tensors are listed', async () => {
    const dir = brokenCopy('keys');
    const file = join(dir, 'adapter_model.safetensors');
    const tensors = await g.loadSafetensors(file);
    tensors.delete('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    const extra = g.zeros([4, 32]);
    tensors.set('base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight', extra);
    await g.saveSafetensors(file, tensors);
    const message = await loadError(dir);
    expect(message).toContain("missing tensor 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'");
    expect(message).toContain("unexpected tensor 'base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight' (the model has 2 layers)");
    g.dispose([...tensors.values()]);
  });

  it('a missing weights file says so, and mentions a pickle next to it', async () => {
    const dir = brokenCopy('no-weights');
    unlinkSync(join(dir, 'adapter_model.safetensors'));
    writeFileSync(join(dir, 'adapter_model.bin'), 'pickle');
    expect(await loadError(dir)).toBe(`${join(dir, 'adapter_model.safetensors')}: missing (the directory has adapter_model.bin, a pickle gradlab does not read: re-save with safe_serialization=True)`);
  });

  it('export refuses models PEFT cannot describe', async () => {
    const model = await base();
    await expect(g.savePeftAdapter(model, join(scratch, 'none'))).rejects.toThrow(/the model has no LoRA layers; call applyLora first/);
    const wq = model.layers[0].attention.wq as unknown as g.Linear;
    model.layers[0].attention.replaceModule('wq', new g.LoRALinear({ weight: wq.weight }, { r: 2, alpha: 4, dropout: 0, mergeWeights: false }));
    await expect(g.savePeftAdapter(model, join(scratch, 'partial'))).rejects.toThrow(/target_modules applies to every layer, but layers\.1\.attention\.wq has no LoRA/);
    model.dispose();
  });
});
