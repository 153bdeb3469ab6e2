// The PyTorch-shaped export: raw tuples and [times, sizes] in the layouts of
// torch/profiler/_memory_profiler.py (category index order PARAMETER,
// OPTIMIZER_STATE, INPUT, TEMPORARY, ACTIVATION, GRADIENT, AUTOGRAD_DETAIL,
// None; actions PREEXISTING=1 CREATE=2 INCREMENT_VERSION=3 DESTROY=4),
// checked on a hand-written program and against the ledger for a training step.

import { beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { recordMemoryTimeline } from '../../src/tensor/memory-timeline.js';
import { exportMemoryTimeline, labelWithPytorchCategories, pytorchRawEvents, pytorchTimelineSizes } from '../../src/study/timeline-export.js';

beforeEach(() => {
  g.useBackend(new g.CpuBackend());
});

// Indices of PyTorch's _CATEGORY_TO_INDEX, written out independently of the code under test.
const PARAMETER = 0, INPUT = 2, TEMPORARY = 3, ACTIVATION = 4, GRADIENT = 5, AUTOGRAD_DETAIL = 6;
const PREEXISTING = 1, CREATE = 2, INCREMENT_VERSION = 3, DESTROY = 4;

describe('PyTorch-shaped memory timeline export', () => {
  it('writes the raw tuples and sizes of a hand-written program', () => {
    const before = g.zeros([2]); // 8 B live before recording: PREEXISTING temporary
    const timeline = recordMemoryTimeline(() => {
      const tokens = g.tensor(Int32Array.from([1, 2, 3]), [3]); // 12 B host data outside any op: INPUT
      const p = g.zeros([4]).setStorageRole('parameter', true); // 16 B temporary, then relabelled a parameter
      g.dispose([tokens, p]);
    });
    before.dispose();
    expect(pytorchRawEvents(timeline, 'seq')).toEqual([
      [-1, PREEXISTING, 8, TEMPORARY],
      [0, CREATE, 12, INPUT],
      [1, CREATE, 16, TEMPORARY],
      [2, INCREMENT_VERSION, -16, TEMPORARY],
      [2, INCREMENT_VERSION, 16, PARAMETER],
      [3, DESTROY, -12, INPUT],
      [4, DESTROY, -16, PARAMETER],
    ]);
    const [times, sizes] = pytorchTimelineSizes(timeline, 'seq');
    expect(times).toEqual([-1, 0, 1, 2, 3, 4]);
    // Each row: [0, PARAMETER, OPTIMIZER_STATE, INPUT, TEMPORARY, ACTIVATION, GRADIENT, AUTOGRAD_DETAIL, None].
    expect(sizes).toEqual([
      [0, 0, 0, 0, 8, 0, 0, 0, 0],
      [0, 0, 0, 12, 8, 0, 0, 0, 0],
      [0, 0, 0, 12, 24, 0, 0, 0, 0],
      [0, 16, 0, 12, 8, 0, 0, 0, 0],
      [0, 16, 0, 0, 8, 0, 0, 0, 0],
      [0, 0, 0, 0, 8, 0, 0, 0, 0],
    ]);
    const json = JSON.parse(exportMemoryTimeline(timeline, { time: 'seq' }));
    expect(json.format).toBe('gradlab-memory-timeline/1');
    expect(json.pytorchCategories).toEqual(['PARAMETER', 'OPTIMIZER_STATE', 'INPUT', 'TEMPORARY', 'ACTIVATION', 'GRADIENT', 'AUTOGRAD_DETAIL', 'UNKNOWN']);
    expect(json.events).toHaveLength(5);
    expect(json.events[0]).toMatchObject({ kind: 'alloc', bytes: 12, kernel: 'fromHost', pytorchCategory: 'INPUT' });
    expect(json.events[0].timeMs).toBeUndefined(); // a 'seq' file holds no wall-clock times, so it is reproducible
    expect(JSON.parse(exportMemoryTimeline(timeline)).events[0].timeMs).toBeGreaterThanOrEqual(0);
    expect(json.pytorchTimeline).toEqual([times, sizes]);
  });

  it('pairs every add with a removal from the same PyTorch category through a training step, ending at the ledger figures', () => {
    g.manualSeed(3);
    const w1 = g.randn([8, 4], { requiresGrad: true }).setStorageRole('parameter', true);
    const w2 = g.randn([1, 8], { requiresGrad: true }).setStorageRole('parameter', true);
    const opt = new g.AdamW([w1, w2]);
    const timeline = recordMemoryTimeline(() => {
      const x = g.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [16, 4]); // an INPUT
      const loss = g.tidy(() => g.mean(g.pow(g.linear(g.relu(g.linear(x, w1)), w2), 2)));
      loss.backward();
      opt.step();
      g.dispose([x, loss]);
    });
    const [, sizes] = pytorchTimelineSizes(timeline, 'seq');
    for (const row of sizes) for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    const last = sizes[sizes.length - 1];
    const ledger = g.memoryReport();
    expect(last.reduce((a, b) => a + b, 0)).toBe(ledger.liveTotal);
    expect(last[1 + PARAMETER]).toBe(ledger.live.parametersTrainable + ledger.live.parametersFrozen);
    expect(last[1 + GRADIENT]).toBe(ledger.live.gradients);
    expect(last[1 + 1]).toBe(ledger.live.optimizerState);
    // The first linear saves x (an INPUT, still INPUT while saved); relu's output is an ACTIVATION;
    // backward's flowing gradients are AUTOGRAD_DETAIL.
    const labelled = labelWithPytorchCategories(timeline);
    expect(labelled.some((e) => e.kind === 'move' && e.pytorchCategory === 'INPUT' && e.category === 'savedActivations')).toBe(true);
    expect(labelled.some((e) => e.pytorchCategory === 'ACTIVATION')).toBe(true);
    expect(labelled.some((e) => e.phase === 'backward' && e.pytorchCategory === 'AUTOGRAD_DETAIL')).toBe(true);
    expect(sizes.some((row) => row[1 + ACTIVATION] > 0)).toBe(true);
    expect(sizes.some((row) => row[1 + AUTOGRAD_DETAIL] > 0)).toBe(true);
    g.dispose([w1, w2]);
    opt.dispose();
  });
});
