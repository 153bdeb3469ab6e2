// Rotary tables and Attention semantics checked from first principles:
// the angle formula, adjacent-pair rotation, causality, and grouped-query
// attention equal to multi-head attention with each kv head repeated
// consecutively (query head h reads kv head floor(h / nRep)).

import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

describe('rotary tables', () => {
  it('hold cos/sin(t * 10000^(-2i/hd)) for 2 * maxSeqLen positions (f64 exact, f32 within its rounding)', async () => {
    const hd = 8;
    const model = new g.Transformer(g.modelArgs({ dim: 16, nLayers: 0, nHeads: 2, vocabSize: 4, maxSeqLen: 16 }), { dtype: 'f64' });
    expect(model.rope.cos.shape).toEqual([32, hd / 2]);
    const f32 = new g.RotaryEmbedding(hd, 32, 'f32');
    const [c64, s64, c32, s32] = await Promise.all([model.rope.cos.data(), model.rope.sin.data(), f32.cos.data(), f32.sin.data()]);
    for (let t = 0; t < 32; t++) {
      for (let i = 0; i < hd / 2; i++) {
        const angle = t * Math.pow(10000, (-2 * i) / hd);
        const k = t * (hd / 2) + i;
        expect(Math.abs(c64[k] - Math.cos(angle))).toBeLessThan(1e-13);
        expect(Math.abs(s64[k] - Math.sin(angle))).toBeLessThan(1e-13);
        // Meta computes the angle in f32: its error is at most an ulp of the angle (2^-19 below 32), plus the rounding of cos/sin.
        expect(Math.abs(c32[k] - Math.cos(angle))).toBeLessThan(2 ** -19 + 2 ** -24);
        expect(Math.abs(s32[k] - Math.sin(angle))).toBeLessThan(2 ** -19 + 2 ** -24);
      }
    }
    expect(() => model.rope.tablesFor(33)).toThrow(/sequence length 33 is outside the 32 precomputed positions/);
    f32.dispose();
    model.dispose();
  });

  it('rotates adjacent pairs (2i, 2i+1) as complex numbers, not split halves', async () => {
    const hd = 6;
    const rope = new g.RotaryEmbedding(hd, 8, 'f64');
    const seq = 4;
    const { cos, sin } = rope.tablesFor(seq);
    const [cv, sv] = [await cos.data(), await sin.data()];
    for (const component of [0, 1, 2, 3, 4, 5]) {
      // x = e_component at every position of one head: (x0 + i x1) * e^{i angle}
      const x = g.tensor(Float64Array.from({ length: seq * hd }, (_, k) => (k % hd === component ? 1 : 0)), [1, seq, 1, hd]);
      const y = await g.noGrad(() => g.rotary(x, cos, sin)).data();
      const pair = component >> 1;
      for (let t = 0; t < seq; t++) {
        const c = cv[t * (hd / 2) + pair];
        const s = sv[t * (hd / 2) + pair];
        const expected = new Array(hd).fill(0);
        if (component % 2 === 0) { expected[2 * pair] = c; expected[2 * pair + 1] = s; } else { expected[2 * pair] = 0 - s; expected[2 * pair + 1] = c; }
        expect(Array.from(y.slice(t * hd, (t + 1) * hd), (v) => v + 0)).toEqual(expected.map((v) => v + 0)); // +0 and -0 alike
      }
      x.dispose();
    }
    rope.dispose();
  });
});

describe('Attention', () => {
  const dim = 16;

  it('is causal: outputs before position t ignore inputs from t on', async () => {
    g.manualSeed(1);
    const rope = new g.RotaryEmbedding(4, 16, 'f64');
    const attention = new g.Attention({ dim, nHeads: 4, nKvHeads: 2, dtype: 'f64' }, rope);
    const x = g.randn([1, 5, dim], { dtype: 'f64' });
    const changed = g.tidy(() => g.concat([g.slice(x, 1, 0, 3), g.mul(g.slice(x, 1, 3), -7)], 1));
    const [a, b] = [await g.noGrad(() => attention.forward(x)).data(), await g.noGrad(() => attention.forward(changed)).data()];
    expect(Array.from(a.slice(0, 3 * dim))).toEqual(Array.from(b.slice(0, 3 * dim)));
    expect(Array.from(a.slice(3 * dim))).not.toEqual(Array.from(b.slice(3 * dim)));
    g.dispose([x, changed]);
    attention.dispose();
    rope.dispose();
  });

  it('grouped-query attention = multi-head attention with kv head j repeated for query heads j*nRep .. j*nRep+nRep-1', async () => {
    g.manualSeed(2);
    const hd = 4;
    const rope = new g.RotaryEmbedding(hd, 16, 'f64');
    const gqa = new g.Attention({ dim, nHeads: 4, nKvHeads: 2, dtype: 'f64' }, rope);
    const mha = new g.Attention({ dim, nHeads: 4, nKvHeads: 4, dtype: 'f64' }, rope);
    // MHA's k/v weight rows for head h are GQA's rows of kv head floor(h / 2).
    const repeatRows = (w: g.Tensor) => g.tidy(() => g.concat([0, 0, 1, 1].map((j) => g.slice(w, 0, j * hd, (j + 1) * hd)), 0));
    mha.loadStateDict({
      'wq.weight': gqa.wq.weight, 'wo.weight': gqa.wo.weight,
      'wk.weight': repeatRows(gqa.wk.weight), 'wv.weight': repeatRows(gqa.wv.weight),
    });
    const x = g.randn([2, 5, dim], { dtype: 'f64' });
    const [a, b] = [await g.noGrad(() => gqa.forward(x)).data(), await g.noGrad(() => mha.forward(x)).data()];
    const err = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(err).toBeLessThan(1e-13);
    x.dispose();
    gqa.dispose();
    mha.dispose();
    rope.dispose();
  });
});
