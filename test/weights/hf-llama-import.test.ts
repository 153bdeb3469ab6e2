// Loading Hugging Face LLaMA directories. The goldens come from
// scripts/make-hf-goldens.py: a tiny model made in Meta's layout, converted
// exactly as transformers' convert_llama_weights_to_hf.py does (rows of
// q_proj / k_proj permuted), sharded with an index; its logits from an
// HF-style PyTorch forward (split-half rotate_half rotary on the permuted
// weights), an independent path from gradlab's adjacent-pair rotary.

import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const GOLDENS = fileURLToPath(new URL('../goldens/hf-llama/', import.meta.url));
const MODEL = join(GOLDENS, 'model');
const scratch = mkdtempSync(join(tmpdir(), 'gradlab-hf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let expected: Map<string, g.Tensor>;
beforeAll(async () => {
  g.useBackend(new g.CpuBackend());
  expected = await g.loadSafetensors(join(GOLDENS, 'expected.safetensors'));
});
afterAll(() => g.dispose([...expected.values()]));

/** max |got - want| relative to max |want|. */
async function relativeError(got: g.Tensor, want: g.Tensor): Promise<number> {
  expect([...got.shape]).toEqual([...want.shape]);
  const a = await got.data();
  const b = await want.data();
  const scale = Math.max(...Array.from(b, Math.abs));
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]))) / scale;
}

async function logitsOf(model: g.Transformer): Promise<g.Tensor> {
  return g.noGrad(() => model.eval().forward(expected.get('tokens')!));
}

/** A copy of a golden directory to break. */
function copyOf(name: string, from = MODEL): string {
  const dir = join(scratch, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

const editJson = (file: string, edit: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
};

async function loadError(dir: string, options: g.LoadHuggingFaceLlamaOptions = {}): Promise<Error> {
  const err = await g.loadHuggingFaceLlama(dir, options).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(g.WeightFileError);
  return err as Error;
}

describe('Hugging Face LLaMA directory import', () => {
  it("maps config.json onto ModelArgs: explicit intermediate size, eps, theta, kv heads", async () => {
    const config = await g.readHuggingFaceLlamaConfig(MODEL);
    const args = g.huggingFaceModelArgs(config);
    // Meta's rule gives 96 for dim 32 (multiple_of 256 -> 256 even); 72 must come through as hiddenDim.
    expect(args).toMatchObject({ dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, hiddenDim: 72, normEps: 1e-6, maxSeqLen: 64, ropeTheta: 1000 });
    expect(g.hiddenDimOf(args)).toBe(72);
  });

  it("a LLaMA-2-7B config.json needs no explicit hidden size: Meta's rule gives 11008", () => {
    // meta-llama/Llama-2-7b-hf's config.json (the fields gradlab reads).
    const config = g.parseHuggingFaceLlamaConfig({
      architectures: ['LlamaForCausalLM'], hidden_act: 'silu', hidden_size: 4096, intermediate_size: 11008, max_position_embeddings: 4096,
      model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32, rms_norm_eps: 1e-5,
      rope_scaling: null, tie_word_embeddings: false, torch_dtype: 'float16', vocab_size: 32000,
    }, 'config.json');
    const args = g.huggingFaceModelArgs(config, { maxSeqLen: 2048 });
    expect(args.hiddenDim).toBeUndefined();
    expect(args).toEqual({ ...g.presetArgs('7b'), nKvHeads: 32, ropeTheta: 10000 });
    expect(g.countParameters(args)).toBe(6_738_415_616);
  });

  for (const dtype of ['f32', 'f64'] as const) {
    it(`the sharded F32 model gives PyTorch's HF-style logits (${dtype})`, async () => {
      const { model, config } = await g.loadHuggingFaceLlama(MODEL, { dtype });
      expect(config.tie_word_embeddings).toBe(false);
      const logits = await logitsOf(model);
      // f64: f32 weights computed in f64 on both sides; f32: f32 rounding throughout.
      expect(await relativeError(logits, expected.get(`model.logits.${dtype}`)!)).toBeLessThan(dtype === 'f64' ? 1e-12 : 1e-5);
      g.dispose([logits]);
      model.dispose();
    });
  }

  it('un-permutes wq and wk rows back to exactly the Meta-layout weights the converter started from', async () => {
    const { model } = await g.loadHuggingFaceLlama(MODEL);
    for (const name of ['layers.0.attention.wq.weight', 'layers.0.attention.wk.weight', 'layers.1.attention.wq.weight', 'layers.1.attention.wk.weight']) {
      expect(Array.from(await model.getParameter(name).data()), name).toEqual(Array.from(await expected.get(`meta.${name}`)!.data()));
    }
    model.dispose();
  });

  it('reads BF16 and F16 tensors from a single model.safetensors, with tied embeddings', async () => {
    const { model, config } = await g.loadHuggingFaceLlama(join(GOLDENS, 'tied-bf16'));
    expect(config).toMatchObject({ tie_word_embeddings: true, torch_dtype: 'bfloat16' });
    // BF16 and F16 widen to f32 exactly, so the logits match as closely as the F32 model's.
    const logits = await logitsOf(model);
    expect(await relativeError(logits, expected.get('tied-bf16.logits.f32')!)).toBeLessThan(1e-5);
    expect(Array.from(await model.output.weight.data())).toEqual(Array.from(await model.tok_embeddings.weight.data()));
    g.dispose([logits]);
    model.dispose();
  });

  it('loads into an f16 model within f16 accuracy', async () => {
    const { model } = await g.loadHuggingFaceLlama(MODEL, { dtype: 'f16' });
    expect(model.getParameter('layers.0.attention.wq.weight').dtype).toBe('f16');
    const logits = await logitsOf(model);
    expect(await relativeError(logits, expected.get('model.logits.f32')!)).toBeLessThan(2e-2);
    g.dispose([logits]);
    model.dispose();
  });

  it('`layers` loads only the first blocks, skipping the rest of the checkpoint', async () => {
    const { model } = await g.loadHuggingFaceLlama(MODEL, { layers: 1 });
    expect(model.layers.length).toBe(1);
    expect(Array.from(await model.getParameter('layers.0.attention.wq.weight').data())).toEqual(Array.from(await expected.get('meta.layers.0.attention.wq.weight')!.data()));
    model.dispose();
    await expect(g.loadHuggingFaceLlama(MODEL, { layers: 3 })).rejects.toThrow(/layers must be an integer in \[0, 2\]/);
  });

  it('loadHuggingFaceLlamaInto fills an existing model, and refuses one of another shape', async () => {
    const config = await g.readHuggingFaceLlamaConfig(MODEL);
    const model = new g.Transformer(g.huggingFaceModelArgs(config));
    await g.loadHuggingFaceLlamaInto(model, MODEL);
    const logits = await logitsOf(model);
    expect(await relativeError(logits, expected.get('model.logits.f32')!)).toBeLessThan(1e-5);
    g.dispose([logits]);
    model.dispose();
    const other = new g.Transformer({ ...g.huggingFaceModelArgs(config), nKvHeads: 4, hiddenDim: 80 });
    await expect(g.loadHuggingFaceLlamaInto(other, MODEL)).rejects.toThrow(
      /config\.json: does not describe this model: nKvHeads \(num_key_value_heads\): the model has 4, the checkpoint 2; FFN hidden size \(intermediate_size\): the model has 80, the checkpoint 72/,
    );
    other.dispose();
  });

  it('loadHuggingFaceLlamaInto fills the base weights under LoRA layers, and refuses merged ones', async () => {
    const config = await g.readHuggingFaceLlamaConfig(MODEL);
    const model = new g.Transformer(g.huggingFaceModelArgs(config));
    g.applyLora(model, { r: 2, alpha: 4, dropout: 0, mergeWeights: true, targets: ['wq', 'wk'] });
    await g.loadHuggingFaceLlamaInto(model, MODEL);
    // B starts at zero, so the LoRA model computes the base model; eval() merges (a no-op here).
    const logits = await logitsOf(model);
    expect(await relativeError(logits, expected.get('model.logits.f32')!)).toBeLessThan(1e-5);
    g.dispose([logits]);
    await expect(g.loadHuggingFaceLlamaInto(model, MODEL)).rejects.toThrow(/LoRA is merged into layers\.0\.attention\.wq, layers\.0\.attention\.wk, .*; unmerge \(model\.train\(\)\) before loading base weights/);
    model.dispose();
  });
});

describe('Hugging Face LLaMA directory errors name the file and the tensor', () => {
  it('a shard the index lists is missing', async () => {
    const dir = copyOf('missing-shard');
    unlinkSync(join(dir, 'model-00002-of-00002.safetensors'));
    const err = await loadError(dir);
    expect(err.message).toMatch(/model\.safetensors\.index\.json: 1 shard file\(s\) the index lists do not exist in .*missing-shard: 'model-00002-of-00002\.safetensors' \(listed for 'lm_head\.weight', /);
  });

  it('a tensor is missing from the checkpoint (shard and index agree)', async () => {
    const dir = copyOf('missing-tensor');
    const shard = join(dir, 'model-00002-of-00002.safetensors');
    const tensors = await g.loadSafetensors(shard);
    tensors.delete('model.layers.1.mlp.up_proj.weight');
    await g.saveSafetensors(shard, tensors);
    editJson(join(dir, 'model.safetensors.index.json'), (j) => { delete (j.weight_map as Record<string, string>)['model.layers.1.mlp.up_proj.weight']; });
    const err = await loadError(dir);
    expect(err.message).toMatch(/index\.json: does not fit the LLaMA described by .*config\.json: 1 problem\(s\):\n {2}missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight' \(gradlab's layers\.1\.feed_forward\.w3\.weight\)/);
    g.dispose([...tensors.values()]);
  });

  it('the index names a tensor its shard does not hold, or a shard holds one the index does not list', async () => {
    const dir = copyOf('index-mismatch');
    editJson(join(dir, 'model.safetensors.index.json'), (j) => {
      const map = j.weight_map as Record<string, string>;
      map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
      delete map['lm_head.weight'];
    });
    const err = await loadError(dir);
    expect(err.message).toContain("model-00002-of-00002.safetensors holds 'lm_head.weight', which the index does not list");
    expect(err.message).toContain("model-00002-of-00002.safetensors holds 'model.norm.weight', which the index places in model-00001-of-00002.safetensors");
    expect(err.message).toMatch(/^.*model\.safetensors\.index\.json: the shards do not match the index: 2 problem\(s\)/);
  });

  it('wrong shapes name the shard, the tensor and both shapes', async () => {
    const dir = copyOf('wrong-shape');
    editJson(join(dir, 'config.json'), (j) => { j.intermediate_size = 80; });
    const err = await loadError(dir);
    expect(err.message).toMatch(/6 problem\(s\)/); // gate, up, down in each of 2 layers
    expect(err.message).toMatch(/model-00001-of-00002\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' is \[72, 32\], but the config makes layers\.0\.feed_forward\.w1\.weight \[80, 32\]/);
  });

  it('unexpected tensors are errors, and so is lm_head in a tied checkpoint', async () => {
    const dir = copyOf('unexpected');
    const shard = join(dir, 'model-00001-of-00002.safetensors');
    const tensors = await g.loadSafetensors(shard);
    const extra = g.zeros([4]);
    tensors.set('model.layers.0.self_attn.q_proj.bias', extra);
    await g.saveSafetensors(shard, tensors);
    editJson(join(dir, 'model.safetensors.index.json'), (j) => { (j.weight_map as Record<string, string>)['model.layers.0.self_attn.q_proj.bias'] = 'model-00001-of-00002.safetensors'; });
    expect((await loadError(dir)).message).toMatch(/model-00001-of-00002\.safetensors: unexpected tensor 'model\.layers\.0\.self_attn\.q_proj\.bias'/);
    g.dispose([...tensors.values()]);

    const tied = copyOf('tied-with-lm-head');
    editJson(join(tied, 'config.json'), (j) => { j.tie_word_embeddings = true; });
    expect((await loadError(tied)).message).toMatch(/unexpected tensor 'lm_head\.weight' \(config\.json says tie_word_embeddings: true, so there should be no lm_head\)/);
  });

  it('integer tensors are refused by name', async () => {
    const dir = copyOf('int-tensor', join(GOLDENS, 'tied-bf16'));
    const file = join(dir, 'model.safetensors');
    const tensors = await g.loadSafetensors(file);
    const ints = g.zeros([32], { dtype: 'i32' });
    tensors.get('model.norm.weight')!.dispose();
    tensors.set('model.norm.weight', ints);
    await g.saveSafetensors(file, tensors);
    expect((await loadError(dir)).message).toMatch(/model\.safetensors: tensor 'model\.norm\.weight' is I32; weights must be F32, F16 or BF16/);
    g.dispose([...tensors.values()]);
  });

  it('bad or unsupported config.json fields are named', async () => {
    const cases: [string, (j: Record<string, unknown>) => void, RegExp][] = [
      ['no-hidden', (j) => { delete j.hidden_size; }, /config\.json: not a usable LLaMA config: field 'hidden_size' is missing/],
      ['bad-heads', (j) => { j.num_key_value_heads = 3; }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
      ['rope-scaling', (j) => { j.rope_scaling = { type: 'linear', factor: 2 }; }, /field 'rope_scaling' is \{"type":"linear","factor":2\}: gradlab's rotary embedding has no scaling/],
      ['mistral', (j) => { j.model_type = 'mistral'; }, /field 'model_type' is "mistral": gradlab loads model_type 'llama' only/],
      ['eps', (j) => { j.rms_norm_eps = -1; }, /field 'rms_norm_eps' must be a positive number, got -1/],
    ];
    for (const [name, edit, pattern] of cases) {
      const dir = copyOf(`config-${name}`);
      editJson(join(dir, 'config.json'), edit);
      expect((await loadError(dir)).message, name).toMatch(pattern);
    }
    const notJson = copyOf('config-not-json');
    writeFileSync(join(notJson, 'config.json'), '{"hidden_size": 32,');
    expect((await loadError(notJson)).message).toMatch(/config\.json: config\.json is not valid JSON/);
    const noConfig = copyOf('config-missing');
    unlinkSync(join(noConfig, 'config.json'));
    expect((await loadError(noConfig)).message).toMatch(/config\.json: cannot read the model config: ENOENT/);
  });

  it('a directory without safetensors weights says what it looked for', async () => {
    const dir = copyOf('pickles');
    for (const f of ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) unlinkSync(join(dir, f));
    writeFileSync(join(dir, 'pytorch_model.bin'), 'not read');
    const err = await loadError(dir);
    expect(err.message).toBe(`${dir}: no model.safetensors or model.safetensors.index.json in this directory (it has pytorch_model*.bin pickles, which gradlab does not read: convert them to safetensors)`);
  });
});

describe('Hugging Face <-> Meta weight names', () => {
  it('maps the global and per-layer names both ways, and Object.prototype member names to nothing', async () => {
    const { hfNameOfMeta, metaNameOfHf } = await import('../../src/train/weights/hf-names.js');
    expect(metaNameOfHf('model.embed_tokens.weight')).toBe('tok_embeddings.weight');
    expect(metaNameOfHf('model.layers.3.self_attn.k_proj.weight')).toBe('layers.3.attention.wk.weight');
    expect(hfNameOfMeta('output.weight')).toBe('lm_head.weight');
    // A checkpoint tensor named "toString" or "constructor" is not a LLaMA weight (it once matched Object.prototype).
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) expect(metaNameOfHf(name)).toBeNull();
    expect(() => hfNameOfMeta('constructor')).toThrow("no Hugging Face name for the Meta parameter 'constructor'");
  });
});
