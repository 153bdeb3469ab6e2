// A training step repeated on pooled buffers creates no GPU objects once warm:
// every dispatch reuses a cached bind group (Dawn's Node bindings free a bind
// group only from a finalizer that needs the event loop, so a loop that never
// awaited leaked one per dispatch), and every buffer comes from the pool. The
// cache binds the params block at a dynamic offset, drops groups whose
// buffers the pool destroys, and evicts the least recently used past its cap.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { BackendBuffer } from '../../src/backends/backend.js';
import { BindGroupCache } from '../../src/backends/webgpu/bind-group-cache.js';
import { normals } from './helpers/cpu-oracle.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('steady-state GPU objects', { adapter: 'auto' });

const dense = (buffer: BackendBuffer) => ({ buffer, offset: 0, strides: [1] as number[] });

if (backend) {
  describe('GPU objects in steady state', () => {
    it('a repeated training step creates no bind groups and no buffers after warm-up, and never waits', () => {
      const N = 24, VOCAB = 9, E = 8, H = 16, CLASSES = 5;
      const tokens = Int32Array.from({ length: N }, (_, i) => (i * 5 + 1) % VOCAB);
      const labels = Int32Array.from(tokens, (t, i) => (i % 6 === 5 ? -100 : (t * 2) % CLASSES));
      const { tok, lab, params } = g.withBackend(backend, () => ({
        tok: g.tensor(tokens, [N]).keep(),
        lab: g.tensor(labels, [N]).keep(),
        params: {
          embed: g.tensor(Float32Array.from(normals(VOCAB * E, 21, 'f32', 0.5)), [VOCAB, E], { requiresGrad: true }).keep().setStorageRole('parameter', true),
          w1: g.tensor(Float32Array.from(normals(H * E, 22, 'f32', 0.3)), [H, E], { requiresGrad: true }).keep().setStorageRole('parameter', true),
          gamma: g.tensor(new Float32Array(H).fill(1), [H], { requiresGrad: true }).keep().setStorageRole('parameter', true),
          w2: g.tensor(Float32Array.from(normals(CLASSES * H, 23, 'f32', 0.3)), [CLASSES, H], { requiresGrad: true }).keep().setStorageRole('parameter', true),
        } as Record<string, Tensor>,
      }));
      const opt = new g.AdamW(Object.values(params), { lr: 1e-2 });
      // Synchronous on purpose: the case that leaked never turned the event loop.
      const step = () => {
        const loss = g.withBackend(backend, () => g.tidy(() => {
          const h = g.rmsNorm(g.silu(g.linear(g.embedding(params.embed, tok), params.w1)), params.gamma);
          return g.crossEntropy(g.linear(h, params.w2), lab);
        }));
        loss.backward();
        opt.step();
        opt.zeroGrad();
        loss.dispose();
      };
      try {
        for (let i = 0; i < 4; i++) step();
        const groups = backend.bindGroupStats();
        const pool = backend.poolStats();
        const stream = backend.streamStats();
        for (let i = 0; i < 10; i++) step();
        const dispatches = backend.streamStats().dispatches - stream.dispatches;
        expect(dispatches).toBeGreaterThanOrEqual(10 * 10); // a real step: forward, backward, AdamW
        expect(backend.bindGroupStats().created - groups.created).toBe(0);
        expect(backend.bindGroupStats().hits - groups.hits).toBe(dispatches); // every dispatch reused a group
        expect(backend.poolStats().created - pool.created).toBe(0);
        expect(backend.streamStats().readbacks - stream.readbacks).toBe(0);
      } finally {
        opt.dispose();
        g.dispose([tok, lab, ...Object.values(params)]);
      }
    });

    it('dispatches sharing a bind group in one batch each read their own params (dynamic offsets)', async () => {
      await backend.sync();
      const x = backend.alloc('f32', 4);
      const y = backend.alloc('f32', 4);
      backend.write(x, new Float32Array([1, 2, 3, 4]));
      await backend.sync();
      const before = backend.streamStats();
      const groups = backend.bindGroupStats();
      // y = x + 1, x = y + 2, y = x + 3, ...: two bind groups, ten distinct scalars.
      for (let k = 1; k <= 10; k++) {
        if (k % 2 === 1) backend.unary('addScalar', [4], dense(x), y, k);
        else backend.unary('addScalar', [4], dense(y), x, k);
      }
      expect(backend.streamStats().submits).toBe(before.submits); // all ten in one batch
      expect(backend.bindGroupStats().hits - groups.hits).toBeGreaterThanOrEqual(8);
      // 1 + (1 + 2 + ... + 10) = 56, and so on.
      expect([...(await backend.read(x))]).toEqual([56, 57, 58, 59]);
      backend.free(x);
      backend.free(y);
    });

    it('releasing cached memory drops the groups that bind destroyed buffers; new buffers work', async () => {
      const a = backend.alloc('f32', 3);
      const b = backend.alloc('f32', 3);
      backend.write(a, new Float32Array([1, 2, 3]));
      backend.unary('neg', [3], dense(a), b, 0);
      expect([...(await backend.read(b))]).toEqual([-1, -2, -3]);
      backend.free(a);
      backend.free(b);
      const before = backend.bindGroupStats();
      backend.releaseCachedMemory();
      const after = backend.bindGroupStats();
      expect(after.forgotten - before.forgotten).toBeGreaterThanOrEqual(1);
      expect(after.live).toBeLessThan(before.live);
      const c = backend.alloc('f32', 3);
      const d = backend.alloc('f32', 3);
      backend.write(c, new Float32Array([4, 5, 6]));
      backend.unary('neg', [3], dense(c), d, 0);
      // A stale group would bind a destroyed buffer: the read would throw the GPU's validation error.
      expect([...(await backend.read(d))]).toEqual([-4, -5, -6]);
      backend.free(c);
      backend.free(d);
    });
  });

  describe('bind-group cache bookkeeping', () => {
    const device = backend.device;
    const STORAGE = 0x80, UNIFORM = 0x40, COPY_DST = 0x08, COMPUTE = 0x4;
    const layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
        { binding: 1, visibility: COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    const arena = device.createBuffer({ size: 256, usage: UNIFORM | COPY_DST });
    const buffers = [0, 1, 2].map(() => device.createBuffer({ size: 256, usage: STORAGE }));

    it('reuses a group for the same layout, params size and buffers; evicts the least recently used past the cap', () => {
      const cache = new BindGroupCache(device, arena, 2);
      const g0 = cache.get(layout, 16, [buffers[0]]);
      expect(cache.get(layout, 16, [buffers[0]])).toBe(g0);
      const g1 = cache.get(layout, 16, [buffers[1]]);
      cache.get(layout, 16, [buffers[0]]); // buffers[1]'s group is now the least recently used
      cache.get(layout, 16, [buffers[2]]);
      expect(cache.stats()).toEqual({ live: 2, created: 3, hits: 2, evicted: 1, forgotten: 0 });
      expect(cache.get(layout, 16, [buffers[0]])).toBe(g0);
      expect(cache.get(layout, 16, [buffers[1]])).not.toBe(g1); // evicted, so created again
      expect(cache.get(layout, 32, [buffers[1]])).not.toBe(cache.get(layout, 16, [buffers[1]])); // params size is part of the key
    });

    it('forget drops exactly the groups that bind the buffer', () => {
      const cache = new BindGroupCache(device, arena, 16);
      cache.get(layout, 16, [buffers[0]]);
      cache.get(layout, 32, [buffers[0]]);
      const kept = cache.get(layout, 16, [buffers[1]]);
      cache.forget(buffers[0]);
      expect(cache.stats()).toMatchObject({ live: 1, created: 3, forgotten: 2 });
      expect(cache.get(layout, 16, [buffers[1]])).toBe(kept);
      cache.forget(buffers[2]); // never bound: nothing to drop
      expect(cache.stats()).toMatchObject({ live: 1, forgotten: 2 });
    });

    it('refuses a cap that is not a positive integer', () => {
      expect(() => new BindGroupCache(device, arena, 0)).toThrow(/maxEntries must be a positive integer, got 0/);
    });
  });
}
