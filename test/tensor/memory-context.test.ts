// The tensor layer's context stack for the memory timeline: nothing is pushed
// while no timeline records (so recording off costs one boolean check per
// site), scopes nest and unwind on throw, and the kernel label never leaks
// across an op boundary.

import { beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { currentMemoryContext, isMemoryContextActive, noteKernelOp, withModuleContext, withOpContext } from '../../src/tensor/memory-context.js';
import { startMemoryTimeline, stopMemoryTimeline } from '../../src/tensor/memory-timeline.js';
import { currentContext } from '../../src/tensor/runtime.js';

beforeEach(() => {
  g.useBackend(new g.CpuBackend());
});

describe('memory context', () => {
  it('records nothing and installs no ledger listener while no timeline records', () => {
    expect(isMemoryContextActive()).toBe(false);
    expect(currentContext().ledger.listener).toBeNull();
    withModuleContext('layers.0', () => withOpContext('matmul', () => {
      noteKernelOp('matmul');
      expect(currentMemoryContext()).toEqual({ module: null, op: null, kernel: null });
    }));
  });

  it('nests module and op scopes, restores them after a throw, and clears the kernel label at op boundaries', () => {
    startMemoryTimeline();
    try {
      withModuleContext('layers.0', () => {
        noteKernelOp('fill');
        withOpContext('matmul', () => {
          expect(currentMemoryContext()).toEqual({ module: 'layers.0', op: 'matmul', kernel: null });
          noteKernelOp('contiguous');
          withModuleContext('layers.0.attention.wq', () => {
            expect(currentMemoryContext()).toEqual({ module: 'layers.0.attention.wq', op: 'matmul', kernel: 'contiguous' });
          });
          expect(() => withOpContext('inner', () => { throw new Error('boom'); })).toThrow('boom');
          expect(currentMemoryContext()).toEqual({ module: 'layers.0', op: 'matmul', kernel: null });
        });
        expect(currentMemoryContext()).toEqual({ module: 'layers.0', op: null, kernel: null });
      });
      expect(currentMemoryContext().module).toBeNull();
    } finally {
      stopMemoryTimeline();
    }
    expect(isMemoryContextActive()).toBe(false);
  });

  it('gives modules their dotted path from the tree, following replaceModule', () => {
    const model = g.Transformer.fromPreset('tiny', { layers: 2, vocabSize: 16 });
    const paths = model.namedModules().map(([path, m]) => [path, m.modulePath]);
    for (const [path, derived] of paths) expect(derived).toBe(path);
    g.applyLora(model, { targets: ['wv'] });
    const wv = model.namedModules().find(([p]) => p === 'layers.1.attention.wv')![1];
    expect(wv).toBeInstanceOf(g.LoRALinear);
    expect(wv.modulePath).toBe('layers.1.attention.wv');
    model.dispose();
  });
});
