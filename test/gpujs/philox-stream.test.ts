// The random kernel draws exactly tensor/philox.ts's Philox4x32-10 stream:
// uniform(0, 1) variates are bit-identical to uniformFromWord on every gpu.js
// mode, for keys and offsets past 2^32 (where a 32-bit shortcut would wrap).

import { describe, expect, it } from 'vitest';
import { philoxWords, uniformFromWord } from '../../src/tensor/philox.js';
import { openAllModes } from './helpers/gpujs-fixture.js';

const backends = await openAllModes();

const STREAMS = [
  { seed: 0, offset: 0 },
  { seed: 20260101, offset: 3 },
  { seed: 2 ** 32 + 5, offset: 2 ** 32 - 2 },
  { seed: Number.MAX_SAFE_INTEGER, offset: 2 ** 50 + 1 },
];

for (const backend of backends) {
  describe(`Philox stream on gpujs ${backend.mode}`, () => {
    it('uniform(0, 1) matches uniformFromWord bit for bit', async () => {
      const n = 4099; // crosses webasm's threading threshold and is not a multiple of 4
      for (const { seed, offset } of STREAMS) {
        const out = backend.alloc('f32', n);
        backend.random(out, 'uniform', seed, offset, 0, 1);
        const got = await backend.read(out);
        backend.free(out);
        const words = new Uint32Array(n);
        philoxWords(seed, offset, words);
        const wrong = [...words.keys()].filter((i) => got[i] !== Math.fround(uniformFromWord(words[i])));
        expect(wrong.slice(0, 5), `seed ${seed}, offset ${offset}`).toEqual([]);
      }
    });

    it('dropout keeps exactly the elements whose uniform variate is >= p', async () => {
      const n = 1000;
      const x = backend.alloc('f32', n);
      const y = backend.alloc('f32', n);
      backend.fill(x, 1);
      backend.dropout(x, n, 0.3, 99, 12345, y);
      const got = await backend.read(y);
      const words = new Uint32Array(n);
      philoxWords(99, 12345, words);
      const kept = [...words.keys()].filter((i) => uniformFromWord(words[i]) >= 0.3);
      expect([...got.keys()].filter((i) => got[i] !== 0)).toEqual(kept);
      expect(got[kept[0]]).toBe(Math.fround(Math.fround(1 / 0.7)));
      backend.free(x);
      backend.free(y);
    });
  });
}
