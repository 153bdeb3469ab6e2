// The end-of-run report of `gradlab finetune`, as text.

import { formatBytes, formatMemoryReport } from '../tensor/memory-ledger.js';
import { formatWorkReport } from '../tensor/work-counter.js';
import type { EvaluationResult } from './evaluate.js';
import type { FinetuneResult } from './finetune.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function evalLine(label: string, e: EvaluationResult | null): string {
  if (!e) return `${label}: (no held-out records)`;
  return `${label}: loss ${e.loss.toFixed(4)} over ${e.tokens} response tokens; exact match ${e.correct}/${e.total} (${(100 * e.exactMatch).toFixed(1)}%)`;
}

export function formatFinetuneReport(r: FinetuneResult): string {
  const first = r.losses[0];
  const last = r.losses[r.losses.length - 1];
  const lines = [
    `run: ${r.techniques}`,
    `model: ${r.model.source}; ${r.model.parameters.toLocaleString('en-US')} parameters, ${r.model.trainable.toLocaleString('en-US')} trainable` +
      (r.model.loraAdapted.length ? ` (LoRA on ${r.model.loraAdapted.length} projections)` : ''),
    `backend: ${r.backend.reason}`,
    `data: ${r.data.train} training records, batch ${r.config.batchSize}, max length ${r.config.maxSeqLen}; ${r.microBatches} micro-batches, ${r.tokensSeen.toLocaleString('en-US')} tokens`,
    `steps: ${r.steps} optimizer steps${r.startStep ? ` (resumed at ${r.startStep})` : ''}${r.skippedSteps ? `, ${r.skippedSteps} skipped by the GradScaler (inf/NaN gradients)` : ''}` +
      (first && last ? `; loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}` : '') +
      (r.config.mixedPrecision && last ? `; loss scale ${last.lossScale}` : ''),
    `runtime: ${seconds(r.runtimeMs)} in all, ${seconds(r.trainMs)} training (${r.steps > 0 ? (r.trainMs / r.steps).toFixed(0) : '-'} ms per optimizer step)`,
    evalLine('held-out before', r.evalBefore),
    evalLine('held-out after ', r.evalAfter),
    ...(r.evalAfter?.samples.slice(0, 3).map((x) => `  ${JSON.stringify(x.instruction + (x.input ? ` [${x.input}]` : ''))}: expected ${JSON.stringify(x.expected)}, generated ${JSON.stringify(x.predicted)}`) ?? []),
    '',
    `peak memory during training: ${formatBytes(r.memory.peakTotal)} (ledger: logical tensor bytes; breakdown at the peak and each category's own maximum)`,
    formatMemoryReport(r.memory),
    '',
    'FLOPs by phase (training only):',
    formatWorkReport(r.work),
  ];
  if (r.savedTo) lines.push('', `saved: ${r.savedTo}`);
  return lines.join('\n');
}
