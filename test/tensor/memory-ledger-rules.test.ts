// The MemoryLedger's own rules, on the class itself: refusing to go below
// zero, which moment the peak breakdown records, what resetPeak starts from,
// the pool figure, and the printed table. Closes what StrykerJS found no
// test checking (bench/results/mutation-score.md). Every expected figure and
// the table text are derived by hand from the calls below.

import { describe, expect, it } from 'vitest';
import { formatBytes, formatMemoryReport, MemoryLedger, type MemoryLedgerListener } from '../../src/tensor/memory-ledger.js';

const noPool = { reservedBytes: 0, allocatedBytes: 0 };

describe('MemoryLedger rules', () => {
  it('refuses to remove or move more bytes than a category holds, and changes nothing when it refuses', () => {
    const ledger = new MemoryLedger();
    ledger.add('gradients', 100);
    expect(() => ledger.remove('gradients', 101)).toThrow('memory ledger: removing 101 bytes from gradients, which holds only 100');
    expect(() => ledger.move('temporaries', 'savedActivations', 50)).toThrow('memory ledger: moving 50 bytes out of temporaries, which holds only 0');
    const r = ledger.snapshot(noPool);
    expect(r.liveTotal).toBe(100);
    expect(r.live.gradients).toBe(100);
    expect(r.live.savedActivations).toBe(0);
    expect(r.liveTensors).toBe(1);
  });

  it('a move within one category is no change at all: nothing is reported to the listener', () => {
    const ledger = new MemoryLedger();
    const events: string[] = [];
    const listener: MemoryLedgerListener = {
      added: (c, b) => events.push(`+${c}:${b}`),
      removed: (c, b) => events.push(`-${c}:${b}`),
      moved: (f, t, b) => events.push(`${f}->${t}:${b}`),
    };
    ledger.listener = listener;
    ledger.add('temporaries', 8);
    ledger.move('temporaries', 'temporaries', 8);
    ledger.move('temporaries', 'savedActivations', 8);
    expect(events).toEqual(['+temporaries:8', 'temporaries->savedActivations:8']);
  });

  it('the peak breakdown is the first moment the total reached its peak; a later equal total does not replace it', () => {
    const ledger = new MemoryLedger();
    ledger.add('parametersTrainable', 100);
    ledger.remove('parametersTrainable', 100);
    ledger.add('gradients', 100); // total 100 again, not above the peak
    const r = ledger.snapshot(noPool);
    expect(r.peakTotal).toBe(100);
    expect(r.peak.parametersTrainable).toBe(100);
    expect(r.peak.gradients).toBe(0);
  });

  it('a relabel while at the peak updates its breakdown; a relabel below the peak does not', () => {
    const ledger = new MemoryLedger();
    ledger.add('temporaries', 64);
    ledger.move('temporaries', 'savedActivations', 64); // still at the peak (64)
    let r = ledger.snapshot(noPool);
    expect([r.peak.temporaries, r.peak.savedActivations]).toEqual([0, 64]);
    ledger.remove('savedActivations', 64);
    ledger.add('temporaries', 32);
    ledger.move('temporaries', 'gradients', 32); // total 32, below the peak of 64
    r = ledger.snapshot(noPool);
    expect(r.peakTotal).toBe(64);
    expect([r.peak.temporaries, r.peak.savedActivations, r.peak.gradients]).toEqual([0, 64, 0]);
    expect(r.maxByCategory.gradients).toBe(32); // a move raises its target's own maximum
  });

  it('resetPeak starts the window at the live figures: peak total, breakdown and own maxima', () => {
    const ledger = new MemoryLedger();
    ledger.add('optimizerState', 1000);
    ledger.add('temporaries', 500);
    ledger.remove('temporaries', 500);
    ledger.resetPeak();
    const r = ledger.snapshot(noPool);
    expect(r.peakTotal).toBe(1000);
    expect(r.peak.optimizerState).toBe(1000);
    expect(r.peak.temporaries).toBe(0);
    expect(r.maxByCategory.temporaries).toBe(0);
    expect(r.maxByCategory.optimizerState).toBe(1000);
  });

  it("the pool figure is what the backend reserved beyond what it handed out, never negative", () => {
    const ledger = new MemoryLedger();
    expect(ledger.snapshot({ reservedBytes: 4096, allocatedBytes: 3000 })).toMatchObject({
      backendReservedBytes: 4096, backendAllocatedBytes: 3000, reservedPoolBytes: 1096,
    });
    expect(ledger.snapshot({ reservedBytes: 100, allocatedBytes: 300 }).reservedPoolBytes).toBe(0);
  });

  it('formatBytes: whole bytes below 1 KiB, two decimals above, binary units up to TiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(1048576)).toBe('1.00 MiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.00 GiB');
    expect(formatBytes(2 ** 40)).toBe('1.00 TiB');
    expect(formatBytes(2 ** 50)).toBe('1024.00 TiB'); // no unit above TiB
    expect(formatBytes(-2048)).toBe('-2.00 KiB');
  });

  it('formatMemoryReport prints live, at-peak and own-max columns, the totals and the idle pool', () => {
    const ledger = new MemoryLedger();
    ledger.add('parametersTrainable', 2048);
    ledger.add('temporaries', 1024); // the peak: 3072
    ledger.remove('temporaries', 1024);
    ledger.add('gradients', 512);
    const text = formatMemoryReport(ledger.snapshot({ reservedBytes: 4096, allocatedBytes: 3000 }));
    expect(text.split('\n')).toEqual([
      'category                           live   at peak   own max',
      '-----------------------------  --------  --------  --------',
      'parameters (trainable)         2.00 KiB  2.00 KiB  2.00 KiB',
      'parameters (frozen)                 0 B       0 B       0 B',
      'gradients                         512 B       0 B     512 B',
      'optimizer state                     0 B       0 B       0 B',
      'saved activations                   0 B       0 B       0 B',
      'autocast weight copies              0 B       0 B       0 B',
      'temporaries                         0 B  1.00 KiB  1.00 KiB',
      'total                          2.50 KiB  3.00 KiB',
      'backend pool (reserved, idle)  1.07 KiB',
    ]);
  });
});
