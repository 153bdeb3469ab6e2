// Memory and work reports of the current backend.

import { formatMemoryReport, type MemoryReport } from './memory-ledger.js';
import { currentContext } from './runtime.js';
import { formatWorkReport, type WorkReport } from './work-counter.js';

export interface PrintableMemoryReport extends MemoryReport {
  /** The report as a readable table. */
  toString(): string;
}

/** Live and peak bytes per category on the current backend. */
export function memoryReport(): PrintableMemoryReport {
  const report = currentContext().memoryReport();
  return { ...report, toString: () => formatMemoryReport(report) };
}

/** Starts a new peak window at the current live bytes. */
export function resetPeakMemory(): void {
  currentContext().ledger.resetPeak();
}

export interface PrintableWorkReport extends WorkReport {
  toString(): string;
}

/** FLOPs and bytes moved per phase and kernel on the current backend since the last reset. */
export function workReport(): PrintableWorkReport {
  const report = currentContext().work.report();
  return { ...report, toString: () => formatWorkReport(report) };
}

export function resetWork(): void {
  currentContext().work.reset();
}
