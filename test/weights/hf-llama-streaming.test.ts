// The Hugging Face loader streams: it reads each tensor in chunks of at most
// `chunkBytes` file bytes (wq / wk: whole heads, at least one) and uploads
// each chunk to the device before it reads the next, so the host never holds
// more than one chunk of one tensor. Checked from outside the loader, by
// recording the file reads (node's FileHandle.read) and the backend writes.

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { BackendBuffer } from '../../src/backends/backend.js';
import type { HostArray } from '../../src/tensor/dtype.js';

const GOLDENS = fileURLToPath(new URL('../goldens/hf-llama/', import.meta.url));
const MODEL = join(GOLDENS, 'model');

type Event = { kind: 'read'; bytes: number; position: number } | { kind: 'write'; elements: number };

describe('Hugging Face import streams tensor by tensor, chunk by chunk', () => {
  const backend = new g.CpuBackend();
  const events: Event[] = [];
  let expected: Map<string, g.Tensor>;
  let restore: () => void = () => {};

  beforeAll(async () => {
    g.useBackend(backend);
    expected = await g.loadSafetensors(join(GOLDENS, 'expected.safetensors'));
    const fh = await open(join(MODEL, 'config.json'));
    const proto = Object.getPrototypeOf(fh) as { read: (...args: unknown[]) => Promise<unknown> };
    await fh.close();
    // Wrap FileHandle.read(buffer, offset, length, position), as the safetensors reader calls it.
    const realRead = proto.read;
    proto.read = function (this: unknown, ...args: unknown[]) {
      if (typeof args[2] === 'number' && typeof args[3] === 'number') events.push({ kind: 'read', bytes: args[2], position: args[3] });
      return realRead.apply(this, args);
    };
    const realWrite = backend.write.bind(backend);
    backend.write = (buffer: BackendBuffer, data: HostArray, offset?: number) => {
      events.push({ kind: 'write', elements: data.length });
      realWrite(buffer, data, offset);
    };
    restore = () => { proto.read = realRead; backend.write = realWrite; };
  });
  afterAll(() => {
    restore();
    g.dispose([...expected.values()]);
  });

  /** Data reads: past the 8-byte length and the JSON header, which sit at positions 0 and 8. */
  const dataReads = () => events.filter((e): e is Extract<Event, { kind: 'read' }> => e.kind === 'read' && e.position > 8);

  for (const chunkBytes of [1024, 100]) {
    it(`chunkBytes ${chunkBytes}: every read is one chunk, uploaded before the next read, and the logits stay exact`, async () => {
      events.length = 0;
      const { model } = await g.loadHuggingFaceLlama(MODEL, { chunkBytes });
      const reads = dataReads();
      // wq / wk chunks are whole heads: 8 rows x 32 columns x 4 bytes = 1024 bytes.
      const headBytes = 8 * 32 * 4;
      expect(Math.max(...reads.map((r) => r.bytes))).toBeLessThanOrEqual(Math.max(chunkBytes, headBytes));
      // Every F32 tensor of both shards, read in ceil(bytes / chunk) pieces (so nothing is read whole).
      let wantReads = 0;
      for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
        await g.withSafetensors(join(MODEL, shard), async (reader) => {
          for (const name of reader.names()) {
            const e = reader.entry(name);
            const rotary = /self_attn\.(q|k)_proj/.test(name);
            const chunk = rotary ? Math.max(1, Math.floor(chunkBytes / headBytes)) * headBytes : Math.floor(chunkBytes / 4) * 4;
            wantReads += Math.ceil((e.end - e.begin) / chunk);
          }
        });
      }
      expect(reads.length).toBe(wantReads);
      // Between one data read and the next, exactly that read's elements go to the device.
      const dataEvents = events.filter((e) => e.kind === 'write' || e.position > 8);
      const firstRead = dataEvents.findIndex((e) => e.kind === 'read');
      let pending = 0;
      for (const e of dataEvents.slice(firstRead)) {
        if (e.kind === 'read') {
          expect(pending).toBe(0);
          pending = e.bytes / 4;
        } else {
          pending -= e.elements;
        }
      }
      expect(pending).toBe(0);

      const logits = g.noGrad(() => model.eval().forward(expected.get('tokens')!));
      const want = await expected.get('model.logits.f32')!.data();
      const got = await logits.data();
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-5 * scale);
      g.dispose([logits]);
      model.dispose();
    });
  }
});
