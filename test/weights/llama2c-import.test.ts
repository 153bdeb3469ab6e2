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
import { readLlama2cHeader } from '../../src/train/weights/llama2c.js';

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

  it('checks every header field: positive sizes, nonzero vocab, dim split into even heads, heads into kv groups', async () => {
    // [dim, hidden, layers, heads, kvHeads, vocab (negative: unshared classifier), seqLen]; a header alone is a valid
    // header on a truncated file, so a plausible one gets the truncation message and an implausible one the header's.
    const write = (fields: number[]) => {
      const file = join(scratch, `header-${fields.join('_')}.bin`);
      writeFileSync(file, Buffer.from(Int32Array.from(fields).buffer));
      return file;
    };
    const valid = [8, 16, 1, 2, 1, 10, 4];
    await expectFileError(write(valid), /truncated llama2\.c checkpoint: the token embedding needs bytes/);
    await expectFileError(write([8, 16, 1, 2, 1, -10, 4]), /truncated llama2\.c checkpoint/);
    for (let i = 0; i < 7; i++) {
      for (const bad of i === 5 ? [0] : [0, -1]) {
        const fields = valid.map((v, j) => (j === i ? bad : v));
        await expectFileError(write(fields), /not a llama2\.c legacy checkpoint: implausible header/);
      }
    }
    const implausible: [number[], string][] = [
      [[12, 16, 1, 5, 1, 10, 4], 'dim 12 does not split into 5 heads'],
      [[16, 16, 1, 4, 3, 10, 4], '4 heads do not split into 3 kv groups'],
      [[6, 16, 1, 2, 1, 10, 4], 'head size 3 is odd (RoPE rotates pairs)'],
    ];
    for (const [fields, why] of implausible) {
      const message = await readLlama2cHeader(write(fields)).then(() => '', (e: Error) => e.message);
      expect(message, why).toContain('implausible header {"dim":' + fields[0] + ',"hiddenDim":16,"nLayers":1,"nHeads":' + fields[3] + ',"nKvHeads":' + fields[4] + ',"vocabSize":10,"seqLen":4}');
    }
  });

  it('reading in chunks of any size (here 12 and 100 bytes, not multiples of a row) gives the same parameters as one read', async () => {
    const whole = await g.loadLlama2cCheckpoint(`${DIR}tiny-unshared.bin`);
    for (const chunkBytes of [12, 100]) {
      const chunked = await g.loadLlama2cCheckpoint(`${DIR}tiny-unshared.bin`, { chunkBytes });
      for (const [name, p] of whole.model.namedParameters()) {
        expect(Array.from(await chunked.model.getParameter(name).data()), `${name} with chunkBytes ${chunkBytes}`).toEqual(Array.from(await p.data()));
      }
      chunked.model.dispose();
    }
    whole.model.dispose();
  });
});
