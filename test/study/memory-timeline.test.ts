// The memory timeline against the ledger: replaying the recorded events from
// the starting figures must give the ledger's live, peak and per-category
// maximum figures to the byte, for real training steps (an MLP, and a tiny
// LLaMA plain, checkpointed and with LoRA). The ledger is the independent
// source: it keeps its own running figures and never reads the events.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { isMemoryContextActive } from '../../src/tensor/memory-context.js';
import { recordMemoryTimeline, startMemoryTimeline, stopMemoryTimeline, type MemoryTimeline } from '../../src/tensor/memory-timeline.js';
import { currentContext } from '../../src/tensor/runtime.js';
import { liveBytesSeries, peakLocation, replayMemoryTimeline } from '../../src/study/timeline-replay.js';

beforeEach(() => {
  g.useBackend(new g.CpuBackend()); // a fresh ledger at zero
});

const owned: { dispose(): void }[] = [];
afterEach(() => {
  for (const o of owned.splice(0)) o.dispose();
  expect(isMemoryContextActive()).toBe(false);
});

/** Replay == ledger, per category; the peak location is the first event reaching the ledger's peak. */
function expectReplayMatchesLedger(timeline: MemoryTimeline): void {
  const ledger = g.memoryReport();
  const replay = replayMemoryTimeline(timeline);
  expect(replay.live).toEqual(ledger.live);
  expect(replay.liveTotal).toBe(ledger.liveTotal);
  expect(replay.peakTotal).toBe(ledger.peakTotal);
  expect(replay.peak).toEqual(ledger.peak);
  expect(replay.maxByCategory).toEqual(ledger.maxByCategory);
  const where = peakLocation(timeline)!;
  expect(where.totalBytes).toBe(ledger.peakTotal);
  const index = timeline.events.indexOf(where.event);
  expect(replay.totals[index]).toBe(ledger.peakTotal);
  expect(Math.max(...replay.totals.slice(0, index))).toBeLessThan(ledger.peakTotal);
  // The series the chart draws ends at the ledger's live figures too.
  expect(liveBytesSeries(timeline).at(-1)!.live).toEqual(ledger.live);
}

class Mlp extends g.Module {
  readonly fc1: g.Linear;
  readonly fc2: g.Linear;
  constructor() {
    super();
    this.fc1 = this.registerModule('fc1', new g.Linear(4, 8, { bias: true }));
    this.fc2 = this.registerModule('fc2', new g.Linear(8, 1));
  }
  forward(x: g.Tensor): g.Tensor {
    return this.runForward([x], () => this.fc2.forward(g.relu(this.fc1.forward(x))));
  }
}

describe('memory timeline: hand-derived events', () => {
  it('records alloc, move and free with bytes, storage id and kernel op', () => {
    g.resetPeakMemory();
    const timeline = recordMemoryTimeline(() => {
      const a = g.zeros([10]); // f32: 40 B, a temporary
      a.setStorageRole('parameter', true); // relabel: temporaries -> parametersTrainable
      const b = g.noGrad(() => a.add(1)); // another 40 B temporary
      g.dispose([a, b]);
    });
    const e = timeline.events;
    expect(e.map((x) => [x.kind, x.category, x.fromCategory ?? null, x.bytes])).toEqual([
      ['alloc', 'temporaries', null, 40],
      ['move', 'parametersTrainable', 'temporaries', 40],
      ['alloc', 'temporaries', null, 40],
      ['free', 'parametersTrainable', null, 40],
      ['free', 'temporaries', null, 40],
    ]);
    expect(e.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(e[0].storageId).toBe(e[1].storageId);
    expect(e[0].storageId).toBe(e[3].storageId);
    expect(e[2].storageId).not.toBe(e[0].storageId);
    expect(e[0].kernel).toBe('fill');
    expect(e[2].op).toBe('addScalar'); // the differentiable op x + 1 names its output ...
    expect(e[2].kernel).toBeNull(); // ... so no kernel label is needed
    expect(e.slice(1).every((x) => x.kernel === null)).toBe(true); // frees and relabels have none
    expect(e.every((x) => x.phase === 'forward' && x.module === null)).toBe(true);
    expect(timeline.start.live.temporaries).toBe(0);
    expectReplayMatchesLedger(timeline);
    expect(peakLocation(timeline)!.seq).toBe(2); // 80 B live: a and b
  });

  it('starts from the ledger figures at start and refuses nested or unmatched start/stop', () => {
    const before = g.zeros([5]); // 20 B live before recording
    owned.push(before);
    startMemoryTimeline();
    expect(() => startMemoryTimeline()).toThrow(/already recording/);
    const t = g.zeros([3]);
    t.dispose();
    const timeline = stopMemoryTimeline();
    expect(() => stopMemoryTimeline()).toThrow(/no timeline is recording/);
    expect(timeline.start.live.temporaries).toBe(20);
    expect(timeline.events).toHaveLength(2);
    expectReplayMatchesLedger(timeline);
    expect(currentContext().ledger.listener).toBeNull();
  });

  it('records an async function until its promise settles', async () => {
    const timeline = await recordMemoryTimeline(async () => {
      const a = g.ones([4]); // 16 B
      const total = a.sum(); // 4 B
      expect(await total.item()).toBe(4);
      g.dispose([a, total]);
    });
    expect(timeline.events.map((e) => [e.kind, e.bytes])).toEqual([['alloc', 16], ['alloc', 4], ['free', 16], ['free', 4]]);
    expect(currentContext().ledger.listener).toBeNull();
    await expect(recordMemoryTimeline(async () => { throw new Error('async boom'); })).rejects.toThrow('async boom');
    expect(currentContext().ledger.listener).toBeNull();
  });

  it('stops recording when the recorded function throws', () => {
    expect(() => recordMemoryTimeline(() => { throw new Error('boom'); })).toThrow('boom');
    expect(currentContext().ledger.listener).toBeNull();
  });
});

describe('memory timeline: an MLP training step', () => {
  function mlpStep(model: Mlp, opt: g.AdamW): void {
    const x = g.randn([16, 4]);
    const y = g.randn([16, 1]);
    const loss = g.tidy(() => g.mean(g.pow(g.sub(model.forward(x), y), 2)));
    loss.backward();
    opt.step();
    opt.zeroGrad();
    g.dispose([x, y, loss]);
  }

  it('replays to the ledger on the first step (optimizer state created) and on a later step', () => {
    g.manualSeed(1);
    const model = new Mlp();
    const opt = new g.AdamW(model.trainableParameters());
    owned.push(model, opt);
    for (let step = 0; step < 2; step++) {
      g.resetPeakMemory();
      const timeline = recordMemoryTimeline(() => mlpStep(model, opt));
      expectReplayMatchesLedger(timeline);
      const e = timeline.events;
      // Attribution: module paths from the tree, ops, and every phase of a step.
      expect(e.some((x) => x.module === 'fc1' && x.phase === 'forward' && x.op === 'matmul')).toBe(true);
      expect(e.some((x) => x.module === 'fc2' && x.phase === 'backward')).toBe(true);
      expect(e.some((x) => x.module === 'Mlp' && x.op === 'relu')).toBe(true);
      expect(e.some((x) => x.phase === 'recomputation')).toBe(false);
      const optimizerAllocs = e.filter((x) => x.phase === 'optimizer' && x.category === 'optimizerState' && x.kind === 'move');
      // AdamW makes m and v for each of the 3 parameters on the first step only: fc1 weight (8, 4) = 128 B, fc1 bias (8) and fc2 weight (1, 8) = 32 B each.
      expect(optimizerAllocs.map((x) => x.bytes).sort((a, b) => a - b)).toEqual(step === 0 ? [32, 32, 32, 32, 128, 128] : []);
      // Leak check through the events: everything allocated during the step was freed, except the first step's optimizer state.
      const net = e.reduce((s, x) => s + (x.kind === 'alloc' ? x.bytes : x.kind === 'free' ? -x.bytes : 0), 0);
      expect(net).toBe(step === 0 ? 2 * (32 + 8 + 8) * 4 : 0);
    }
  });
});

describe('memory timeline: a tiny LLaMA step', () => {
  const SEQ = 6;

  function llamaStep(model: g.Transformer, opt: g.AdamW): void {
    const tokens = g.tensor(Int32Array.from([1, 5, 9, 2, 6, 5, 3]), [1, SEQ + 1]);
    const loss = g.tidy(() => {
      const logits = model.forward(g.slice(tokens, 1, 0, SEQ));
      return g.crossEntropy(logits, g.slice(tokens, 1, 1));
    });
    loss.backward();
    opt.step();
    opt.zeroGrad();
    g.dispose([tokens, loss]);
  }

  function recordStep(checkpointing: g.CheckpointingMode, lora: boolean): MemoryTimeline {
    g.manualSeed(7);
    const model = g.Transformer.fromPreset('tiny', { layers: 1 }, { checkpointing });
    if (lora) {
      g.applyLora(model, { r: 2, alpha: 4, dropout: 0.1 });
      g.markOnlyLoraAsTrainable(model);
    }
    const opt = new g.AdamW(model.trainableParameters());
    owned.push(model, opt);
    g.resetPeakMemory();
    const timeline = recordMemoryTimeline(() => llamaStep(model, opt));
    expectReplayMatchesLedger(timeline);
    return timeline;
  }

  it('plain: replays exactly, with module paths down to the projections and no recomputation', () => {
    const t = recordStep('none', false);
    expect(t.events.some((e) => e.module === 'layers.0.attention.wq' && e.phase === 'forward')).toBe(true);
    expect(t.events.some((e) => e.module === 'layers.0.attention.wq' && e.phase === 'backward')).toBe(true);
    expect(t.events.some((e) => e.module === 'layers.0.feed_forward.w2' && e.phase === 'backward')).toBe(true);
    expect(t.events.some((e) => e.phase === 'recomputation')).toBe(false);
    expect(t.events.some((e) => e.phase === 'optimizer' && e.category === 'optimizerState')).toBe(true);
  });

  it("'two-segments' checkpointing: replays exactly, and recomputation events carry the forward's module paths", () => {
    const t = recordStep('two-segments', false);
    const recomputed = t.events.filter((e) => e.phase === 'recomputation');
    expect(recomputed.length).toBeGreaterThan(0);
    expect(recomputed.some((e) => e.module === 'layers.0.attention.wq')).toBe(true);
    expect(recomputed.some((e) => e.module === 'layers.0.feed_forward.w1')).toBe(true);
    // Nothing outside the checkpointed blocks is recomputed.
    expect(recomputed.some((e) => e.module === 'output' || e.module === 'tok_embeddings')).toBe(false);
  });

  it('LoRA on wq, wv: replays exactly; the adapters are attributed to the wrapped projections', () => {
    const t = recordStep('none', true);
    // Only the LoRA factors train, so the optimizer state (m and v, f32) is theirs: wq's A (2, 64) and B (64, 2),
    // wv's A (2, 64) and B (32, 2) (tiny has 2 KV heads of 64 / 4 = 16 dims: wv is (32, 64)).
    const optimizerState = t.events.filter((e) => e.kind === 'move' && e.category === 'optimizerState').reduce((s, e) => s + e.bytes, 0);
    expect(optimizerState).toBe(2 * 4 * (2 * 64 + 64 * 2 + 2 * 64 + 32 * 2));
    expect(t.events.some((e) => e.module === 'layers.0.attention.wv' && e.op === 'dropout')).toBe(true);
    expect(t.events.some((e) => e.phase === 'recomputation')).toBe(false);
  });
});
