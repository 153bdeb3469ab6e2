// The module system: dotted names in Meta's order, train/eval, requiresGrad
// and the memory ledger, forward hooks, and state dicts with clear errors.

import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

const ARGS = g.modelArgs({ dim: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, vocabSize: 10, multipleOf: 8, maxSeqLen: 4 });

describe('Module', () => {
  it("names parameters exactly as Meta's state dict, in Meta's order", () => {
    const model = new g.Transformer(ARGS);
    const names = model.namedParameters().map(([n]) => n);
    expect(names.slice(0, 10)).toEqual([
      'tok_embeddings.weight',
      'layers.0.attention.wq.weight', 'layers.0.attention.wk.weight', 'layers.0.attention.wv.weight', 'layers.0.attention.wo.weight',
      'layers.0.feed_forward.w1.weight', 'layers.0.feed_forward.w2.weight', 'layers.0.feed_forward.w3.weight',
      'layers.0.attention_norm.weight', 'layers.0.ffn_norm.weight',
    ]);
    expect(names.slice(-2)).toEqual(['norm.weight', 'output.weight']);
    expect(model.getParameter('layers.1.attention.wk.weight').shape).toEqual([4, 8]);
    expect(model.namedModules().map(([n]) => n)).toContain('layers.1.feed_forward.w3');
    model.dispose();
  });

  it('train()/eval() reach every descendant', () => {
    const model = new g.Transformer(ARGS);
    model.eval();
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    model.dispose();
  });

  it('requiresGrad decides trainable vs frozen, in the counts and in the memory ledger, to the byte', () => {
    const before = g.memoryReport().live;
    const model = new g.Transformer(ARGS);
    const total = model.parameterCounts().total;
    const live = () => g.memoryReport().live;
    expect(model.parameterCounts()).toEqual({ total, trainable: total, frozen: 0 });
    expect(live().parametersTrainable - before.parametersTrainable).toBe(4 * total);
    model.requiresGrad_(false);
    model.getParameter('norm.weight').requiresGrad = true;
    expect(model.parameterCounts()).toEqual({ total, trainable: 8, frozen: total - 8 });
    expect(live().parametersTrainable - before.parametersTrainable).toBe(4 * 8);
    expect(live().parametersFrozen - before.parametersFrozen).toBe(4 * (total - 8));
    model.dispose();
    expect(live().parametersTrainable).toBe(before.parametersTrainable);
    expect(live().parametersFrozen).toBe(before.parametersFrozen);
  });

  it('forward hooks see each call and can be removed', () => {
    const model = new g.Transformer(ARGS);
    const seen: string[] = [];
    const remove = model.layers[1].feed_forward.registerForwardHook((m, inputs, out) => seen.push(`${m.typeName} ${inputs[0].shape} -> ${out.shape}`));
    const tokens = g.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    g.dispose(g.tidy(() => model.forward(tokens)));
    remove();
    g.dispose(g.tidy(() => model.forward(tokens)));
    expect(seen).toEqual(['FeedForward 2,3,8 -> 2,3,8']);
    model.dispose();
    tokens.dispose();
  });

  it('temporaries die at module boundaries: after a no-grad forward only the logits remain', () => {
    const model = new g.Transformer(ARGS);
    const tokens = g.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const before = g.memoryReport().liveTotal;
    const logits = g.noGrad(() => g.tidy(() => model.forward(tokens)));
    expect(g.memoryReport().liveTotal - before).toBe(logits.bytes);
    logits.dispose();
    model.dispose();
    tokens.dispose();
  });

  it('rejects bad token input with the shapes', () => {
    const model = new g.Transformer(ARGS);
    const floats = g.zeros([1, 2]);
    const long = g.tensor(new Int32Array(5), [1, 5]);
    expect(() => model.forward(floats)).toThrow(/tokens must be i32 \(batch, seq\), got \[1, 2\] f32/);
    expect(() => model.forward(long)).toThrow(/sequence length 5 exceeds maxSeqLen 4/);
    g.dispose([floats, long]);
    model.dispose();
  });
});

describe('state dicts', () => {
  it('round-trips into a fresh model, copying in place (the handles stay the same)', async () => {
    g.manualSeed(1);
    const a = new g.Transformer(ARGS);
    const b = new g.Transformer(ARGS, { init: 'zeros' });
    const handle = b.getParameter('output.weight');
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.getParameter('output.weight')).toBe(handle);
    for (const [name, p] of a.namedParameters()) expect(Array.from(await b.getParameter(name).data()), name).toEqual(Array.from(await p.data()));
    a.dispose();
    b.dispose();
  });

  it('converts float dtypes like torch copy_ (f64 source into f32 parameters)', async () => {
    const model = new g.RMSNorm(3);
    model.loadStateDict({ weight: g.tensor([0.1, 0.2, 0.3], { dtype: 'f64' }) });
    expect(Array.from(await model.weight.data())).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
    model.dispose();
  });

  it('reports missing, unexpected, mis-shaped and non-float keys together, and changes nothing', async () => {
    const model = new g.Transformer(ARGS);
    const sd = new Map(model.stateDict());
    const original = Array.from(await model.getParameter('norm.weight').data());
    sd.delete('layers.1.ffn_norm.weight');
    sd.set('layers.2.ffn_norm.weight', g.ones([8]));
    sd.set('output.weight', g.zeros([8, 10]));
    sd.set('tok_embeddings.weight', g.tensor(new Int32Array(80), [10, 8]));
    sd.set('norm.weight', g.zeros([8]));
    let message = '';
    try { model.loadStateDict(sd); } catch (err) { message = (err as Error).message; }
    expect(message).toMatch(/loadStateDict\(Transformer\): 4 error\(s\)/);
    expect(message).toMatch(/size mismatch for 'output.weight': the source has \[8, 10\], the parameter is \[10, 8\]/);
    expect(message).toMatch(/dtype mismatch for 'tok_embeddings.weight': the source is i32, the parameter is f32/);
    expect(message).toMatch(/missing key\(s\): 'layers.1.ffn_norm.weight'/);
    expect(message).toMatch(/unexpected key\(s\): 'layers.2.ffn_norm.weight'/);
    expect(Array.from(await model.getParameter('norm.weight').data())).toEqual(original); // nothing was copied
    model.dispose();
  });

  it('non-strict loading reports missing and unexpected keys instead of failing', () => {
    const model = new g.RMSNorm(2);
    const extra = g.ones([2]);
    expect(model.loadStateDict({ other: extra }, { strict: false })).toEqual({ missingKeys: ['weight'], unexpectedKeys: ['other'] });
    model.dispose();
    extra.dispose();
  });
});
