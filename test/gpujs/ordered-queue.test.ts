// The ordered queue that keeps the backend contract's program order over
// gpu.js's asynchronous calls: steps run at once while nothing is pending,
// wait behind pending work otherwise, and the first failure is reported at the
// next drain (a read) instead of being lost.

import { describe, expect, it } from 'vitest';
import { OrderedQueue } from '../../src/backends/gpujs/ordered-queue.js';

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('OrderedQueue', () => {
  it('runs a step synchronously when nothing is pending', () => {
    const queue = new OrderedQueue();
    const log: string[] = [];
    queue.enqueue(() => { log.push('a'); });
    expect(log).toEqual(['a']);
    expect(queue.busy).toBe(false);
    expect(queue.deferredSteps).toBe(0);
  });

  it('keeps program order behind an asynchronous step, slow or fast', async () => {
    const queue = new OrderedQueue();
    const log: string[] = [];
    queue.enqueue(async () => { await later(20, 0); log.push('slow'); });
    queue.enqueue(() => { log.push('sync after slow'); });
    queue.enqueue(async () => { await later(1, 0); log.push('fast'); });
    queue.enqueue(() => { log.push('last'); });
    expect(log).toEqual([]);
    expect(queue.busy).toBe(true);
    await queue.drain();
    expect(log).toEqual(['slow', 'sync after slow', 'fast', 'last']);
    expect(queue.deferredSteps).toBe(3);
    expect(queue.busy).toBe(false);
  });

  it('throws a synchronous failure at the call and stays usable', async () => {
    const queue = new OrderedQueue();
    expect(() => queue.enqueue(() => { throw new Error('bad shape'); })).toThrow('bad shape');
    const log: string[] = [];
    queue.enqueue(() => { log.push('next'); });
    await queue.drain();
    expect(log).toEqual(['next']);
  });

  it('reports an asynchronous failure at the next drain and skips the steps after it', async () => {
    const queue = new OrderedQueue();
    const log: string[] = [];
    queue.enqueue(async () => { await later(5, 0); throw new Error('shader failed to compile'); });
    queue.enqueue(() => { log.push('must not run'); });
    await expect(queue.drain()).rejects.toThrow('shader failed to compile');
    expect(log).toEqual([]);
    // Later calls are refused with the original error rather than computing on corrupt state.
    expect(() => queue.enqueue(() => { log.push('refused'); })).toThrow('shader failed to compile');
    await expect(queue.drain()).rejects.toThrow('shader failed to compile');
  });
});
