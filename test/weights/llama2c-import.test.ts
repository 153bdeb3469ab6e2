// Importing llama2.c legacy (v0) checkpoints. The tiny files were written by
// scripts/make-goldens.py the way llama2.c's export.py writes them (shared and
// unshared classifier, grouped-query attention, an explicit hidden size), with
// PyTorch's logits for a token sequence.

import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const DIR = fileURLToPath(new URL('../goldens/llama2c/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'gradlab-llama2c-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

describe('llama2.c legacy checkpoint import', () => {
  for (const variant of ['shared', 'unshared'] as const) {
    for (const dtype of ['f64', 'f32'] as const) {
      it(`tiny-${variant}.bin (${dtype}) reproduces PyTorch's logits`, async () => {
        const { model, header } = await g.loadLlama2cCheckpoint(`${DIR}tiny-${variant}.bin`, { dtype });
        expect(header).toEqual({ dim: 16, hiddenDim: 40, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 32, seqLen: 8, sharedClassifier: variant === 'shared' });
        // The file's hidden size (40), not Meta's rule for dim 16 (48).
        expect(model.getParameter('layers.0.feed_forward.w1.weight').shape).toEqual([40, 16]);
        const expected = await g.loadSafetensors(`${DIR}expected.safetensors`);
        const logits = g.noGrad(() => model.forward(expected.get('tokens')!));
        const want = await expected.get(`${variant}.logits`)!.data();
        const got = await logits.data();
        const scale = Math.max(...Array.from(want, Math.abs));
        const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])));
        // f64: the f32 weights computed in f64 on both sides; f32: f32 rounding throughout.
        expect(err).toBeLessThan((dtype === 'f64' ? 1e-12 : 1e-5) * scale);
        if (variant === 'shared') {
          expect(Array.from(await model.getParameter('output.weight').data())).toEqual(Array.from(await model.getParameter('tok_embeddings.weight').data()));
        }
        g.dispose([logits, ...expected.values()]);
        model.dispose();
      });
    }
  }

  it("maps a stories15M header onto the stories15M preset's shapes", () => {
    const args = g.llama2cModelArgs({ dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6, vocabSize: 32000, seqLen: 256, sharedClassifier: true });
    expect([...g.parameterShapes(args).entries()]).toEqual([...g.parameterShapes(g.presetArgs('stories15M')).entries()]);
  });

  const expectFileError = async (file: string, pattern: RegExp) => {
    const err = await g.loadLlama2cCheckpoint(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(g.WeightFileError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message.startsWith(file)).toBe(true);
  };

  it('a truncated file names the array that is cut short', async () => {
    const file = join(scratch, 'cut.bin');
    copyFileSync(`${DIR}tiny-unshared.bin`, file);
    truncateSync(file, readFileSync(file).length - 10);
    await expectFileError(file, /truncated llama2\.c checkpoint: the classifier needs bytes \[\d+, \d+\) but the file has \d+ bytes/);
  });

  it('extra bytes mean a different model or format', async () => {
    const file = join(scratch, 'long.bin');
    writeFileSync(file, Buffer.concat([readFileSync(`${DIR}tiny-shared.bin`), Buffer.alloc(12)]));
    await expectFileError(file, /12 unexpected bytes after the last array/);
  });

  it("refuses versioned exports ('ak42' magic) and implausible headers", async () => {
    const versioned = join(scratch, 'v1.bin');
    const header = Buffer.alloc(256);
    header.writeUInt32LE(0x616b3432, 0);
    writeFileSync(versioned, header);
    await expectFileError(versioned, /a versioned llama2\.c export \(magic 'ak42'\)/);
    const garbage = join(scratch, 'garbage.bin');
    writeFileSync(garbage, Buffer.from(Int32Array.from([10, 20, 1, 3, 1, 5, 4]).buffer));
    await expectFileError(garbage, /not a llama2\.c legacy checkpoint: implausible header/);
    const tiny = join(scratch, 'tiny.bin');
    writeFileSync(tiny, Buffer.alloc(5));
    await expectFileError(tiny, /shorter than the 28-byte header/);
  });
});
