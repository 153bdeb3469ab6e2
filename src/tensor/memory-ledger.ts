// The memory ledger: live bytes per category, the peak, and the breakdown at
// the peak. Figures are logical tensor bytes (numel x element size), so the
// same program reports the same bytes on every backend; what a backend's pool
// holds beyond that is reported separately as reserved bytes.

export const MEMORY_CATEGORIES = [
  'parametersTrainable',
  'parametersFrozen',
  'gradients',
  'optimizerState',
  'savedActivations',
  'autocastWeightCopies',
  'temporaries',
] as const;
export type MemoryCategory = (typeof MEMORY_CATEGORIES)[number];

export type CategoryBytes = Record<MemoryCategory, number>;

export interface MemoryReport {
  /** Live bytes per category now. */
  readonly live: CategoryBytes;
  readonly liveTotal: number;
  /** Highest total since the last resetPeak(), and the breakdown at that moment. */
  readonly peakTotal: number;
  readonly peak: CategoryBytes;
  /** Each category's own highest value in the same window (reached at different moments). */
  readonly maxByCategory: CategoryBytes;
  /** Bytes the backend holds (pool included) and hands out, as it rounds them. */
  readonly backendReservedBytes: number;
  readonly backendAllocatedBytes: number;
  /** Reserved but not handed out: the pool's idle blocks. */
  readonly reservedPoolBytes: number;
  readonly liveTensors: number;
}

/**
 * Sees every change the ledger makes, after it made it (the memory timeline
 * records them). storageId is null for bytes that are not a Storage (a
 * composite kernel's scratch buffers).
 */
export interface MemoryLedgerListener {
  added(category: MemoryCategory, bytes: number, storageId: number | null): void;
  removed(category: MemoryCategory, bytes: number, storageId: number | null): void;
  moved(from: MemoryCategory, to: MemoryCategory, bytes: number, storageId: number | null): void;
}

const zeros = (): CategoryBytes =>
  Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as CategoryBytes;

export class MemoryLedger {
  private readonly live = zeros();
  private liveTotal = 0;
  private peakTotal = 0;
  private peak = zeros();
  private maxByCategory = zeros();
  private storages = 0;
  /** Optional observer (one at a time); null costs one check per change. */
  listener: MemoryLedgerListener | null = null;

  private noteCategoryMax(category: MemoryCategory): void {
    if (this.live[category] > this.maxByCategory[category]) this.maxByCategory[category] = this.live[category];
  }

  add(category: MemoryCategory, bytes: number, storageId: number | null = null): void {
    this.live[category] += bytes;
    this.liveTotal += bytes;
    this.storages++;
    this.noteCategoryMax(category);
    if (this.liveTotal > this.peakTotal) {
      this.peakTotal = this.liveTotal;
      this.peak = { ...this.live };
    }
    this.listener?.added(category, bytes, storageId);
  }

  remove(category: MemoryCategory, bytes: number, storageId: number | null = null): void {
    if (this.live[category] < bytes) throw new Error(`memory ledger: removing ${bytes} bytes from ${category}, which holds only ${this.live[category]}`);
    this.live[category] -= bytes;
    this.liveTotal -= bytes;
    this.storages--;
    this.listener?.removed(category, bytes, storageId);
  }

  /** Re-labels live bytes (e.g. a temporary becomes a saved activation); totals don't change. */
  move(from: MemoryCategory, to: MemoryCategory, bytes: number, storageId: number | null = null): void {
    if (from === to) return;
    if (this.live[from] < bytes) throw new Error(`memory ledger: moving ${bytes} bytes out of ${from}, which holds only ${this.live[from]}`);
    this.live[from] -= bytes;
    this.live[to] += bytes;
    this.noteCategoryMax(to);
    // Still at the peak: a relabel right after an allocation (a new parameter) belongs in its breakdown.
    if (this.liveTotal === this.peakTotal) this.peak = { ...this.live };
    this.listener?.moved(from, to, bytes, storageId);
  }

  /** Starts a new peak window at the current live figures. */
  resetPeak(): void {
    this.peakTotal = this.liveTotal;
    this.peak = { ...this.live };
    this.maxByCategory = { ...this.live };
  }

  snapshot(backend: { reservedBytes: number; allocatedBytes: number }): MemoryReport {
    return {
      live: { ...this.live },
      liveTotal: this.liveTotal,
      peakTotal: this.peakTotal,
      peak: { ...this.peak },
      maxByCategory: { ...this.maxByCategory },
      backendReservedBytes: backend.reservedBytes,
      backendAllocatedBytes: backend.allocatedBytes,
      reservedPoolBytes: Math.max(0, backend.reservedBytes - backend.allocatedBytes),
      liveTensors: this.storages,
    };
  }
}

const LABELS: Record<MemoryCategory, string> = {
  parametersTrainable: 'parameters (trainable)',
  parametersFrozen: 'parameters (frozen)',
  gradients: 'gradients',
  optimizerState: 'optimizer state',
  savedActivations: 'saved activations',
  autocastWeightCopies: 'autocast weight copies',
  temporaries: 'temporaries',
};

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(2)} ${units[u]}`;
}

/** A readable table: live bytes, the breakdown at the total's peak, and each category's own maximum. */
export function formatMemoryReport(report: MemoryReport): string {
  type Row = [string, string, string, string];
  const rows: Row[] = MEMORY_CATEGORIES.map((c) => [LABELS[c], formatBytes(report.live[c]), formatBytes(report.peak[c]), formatBytes(report.maxByCategory[c])]);
  rows.push(['total', formatBytes(report.liveTotal), formatBytes(report.peakTotal), '']);
  rows.push(['backend pool (reserved, idle)', formatBytes(report.reservedPoolBytes), '', '']);
  const header: Row = ['category', 'live', 'at peak', 'own max'];
  const widths = [0, 1, 2, 3].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: Row) => [r[0].padEnd(widths[0]), ...[1, 2, 3].map((i) => r[i].padStart(widths[i]))].join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
