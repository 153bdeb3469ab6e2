// finetune(): instruction-tunes a LLaMA-2 model on Alpaca-format data with any
// combination of the four memory techniques (gradient accumulation, gradient
// checkpointing, mixed precision, LoRA) and reports what the run cost: time,
// peak memory with the per-category breakdown at the peak, FLOPs by phase,
// and held-out loss and exact-match accuracy before and after training.
//
// One optimizer step = a window of `accumulate` micro-batches of `batchSize`
// records; windows do not cross epochs (an epoch's last, partial window is
// stepped too, as in the seed's loop).

import { autocast } from '../autograd/autocast.js';
import { startMemoryTimeline, stopMemoryTimeline, type MemoryTimeline } from '../tensor/memory-timeline.js';
import { backward } from '../autograd/backward.js';
import { add, mul } from '../autograd/functional.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Backend } from '../backends/backend.js';
import { chooseBestBackend } from '../backends/best-backend.js';
import { createBackend } from '../backends/registry.js';
import { tensor } from '../tensor/creation.js';
import { setGeneratorState } from '../tensor/generator.js';
import type { MemoryReport } from '../tensor/memory-ledger.js';
import { memoryReport, resetPeakMemory, resetWork, workReport } from '../tensor/reports.js';
import { currentBackendIfAny, forgetBackend, useBackend } from '../tensor/runtime.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { WorkReport } from '../tensor/work-counter.js';
import { AdamW } from './adamw.js';
import { loadAlpacaFile } from './data/alpaca-file.js';
import type { AlpacaRecord } from './data/alpaca-prompt.js';
import { tokenizeAlpacaDataset, type TokenizedExample } from './data/alpaca-tokenize.js';
import { collateBatch } from './data/collate.js';
import { DataOrder } from './data/data-order.js';
import { loadDefaultAlpaca } from './data/default-data.js';
import { evaluate, type EvaluationResult } from './evaluate.js';
import { describeTechniques, resolveFinetuneConfig, type FinetuneConfig, type FinetuneOptions } from './finetune-config.js';
import { GradScaler } from './grad-scaler.js';
import { microBatchLoss, targetTokenCount } from './causal-lm-loss.js';
import { prepareModel } from './model-setup.js';
import { configMismatches, readLatestCheckpoint, restoreRunCheckpoint, saveRunCheckpoint } from './run-checkpoint.js';

export interface FinetuneProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly totalSteps: number;
  /** Mean loss per target token of the step's window (before any scaling). */
  readonly loss: number;
  readonly tokensPerSecond: number;
  /** GradScaler's scale (1 without mixed precision). */
  readonly lossScale: number;
  /** Whether the optimizer stepped (false when GradScaler skipped a step with inf/NaN grads). */
  readonly stepped: boolean;
}

export interface FinetuneHooks {
  onProgress?: (p: FinetuneProgress) => void;
  /** Status lines (backend choice, data, evaluation); default: none. */
  log?: (line: string) => void;
}

export interface FinetuneResult {
  readonly config: FinetuneConfig;
  readonly backend: { readonly spec: string; readonly name: string; readonly reason: string };
  readonly model: { readonly source: string; readonly parameters: number; readonly trainable: number; readonly loraAdapted: readonly string[] };
  readonly techniques: string;
  readonly data: { readonly train: number; readonly eval: number; readonly droppedNoTarget: number; readonly truncated: number };
  readonly startStep: number;
  readonly steps: number;
  readonly totalSteps: number;
  readonly skippedSteps: number;
  readonly microBatches: number;
  readonly tokensSeen: number;
  readonly losses: readonly { step: number; loss: number; lossScale: number }[];
  readonly runtimeMs: number;
  readonly trainMs: number;
  readonly memory: MemoryReport;
  readonly work: WorkReport;
  readonly evalBefore: EvaluationResult | null;
  readonly evalAfter: EvaluationResult | null;
  readonly savedTo: string | null;
  /** With `recordTimeline`: every allocation, free and relabel of the first optimizer step this run took. */
  readonly timeline: MemoryTimeline | null;
}

async function openBackend(spec: string): Promise<{ backend: Backend; spec: string; reason: string }> {
  if (spec !== 'auto') return { backend: await createBackend(spec), spec, reason: `${spec}: chosen with --backend` };
  const choice = await chooseBestBackend();
  return { backend: choice.backend, spec: choice.spec, reason: choice.reason };
}

async function loadRecords(config: FinetuneConfig): Promise<{ train: Required<AlpacaRecord>[]; evalRecords: Required<AlpacaRecord>[] }> {
  const train = config.data ? await loadAlpacaFile(config.data) : await loadDefaultAlpaca('train');
  let evalRecords: Required<AlpacaRecord>[] = [];
  if (config.evalData) evalRecords = await loadAlpacaFile(config.evalData);
  else if (!config.data) evalRecords = await loadDefaultAlpaca('eval');
  return { train: config.maxSamples !== null ? train.slice(0, config.maxSamples) : train, evalRecords: evalRecords.slice(0, config.evalSamples) };
}

export async function finetune(options: FinetuneOptions = {}, hooks: FinetuneHooks = {}): Promise<FinetuneResult> {
  const started = performance.now();
  const config = resolveFinetuneConfig(options);
  const log = hooks.log ?? (() => {});
  const previousBackend = currentBackendIfAny();
  const opened = await openBackend(config.backend);
  useBackend(opened.backend);
  log(`backend: ${opened.reason}`);

  const { train, evalRecords } = await loadRecords(config);
  const prepared = await prepareModel(config);
  const { model, tokenizer } = prepared;
  let optimizer: AdamW | null = null;
  let scaler: GradScaler | null = null;
  try {
    const tokenized = tokenizeAlpacaDataset(train, tokenizer, { maxLength: config.maxSeqLen });
    // A record whose response lies wholly beyond maxSeqLen has no target token: it would make a
    // micro-batch's mean loss NaN, so it is left out, and said so.
    const usable: TokenizedExample[] = tokenized.filter((e) => targetTokenCount(e.labels, 1, e.labels.length) > 0);
    const droppedNoTarget = tokenized.length - usable.length;
    const truncated = tokenized.filter((e) => e.truncated).length;
    if (usable.length === 0) throw new Error(`finetune: no training record has a response token within maxSeqLen ${config.maxSeqLen}`);
    log(`data: ${usable.length} training records${droppedNoTarget ? ` (${droppedNoTarget} left out: no response token within maxSeqLen ${config.maxSeqLen})` : ''}` +
      `${truncated ? `, ${truncated} truncated` : ''}; ${evalRecords.length} held-out records`);
    log(`model: ${prepared.source}; ${describeTechniques(config)}`);

    optimizer = new AdamW(model.trainableParameters(), { lr: config.lr, weightDecay: config.weightDecay });
    scaler = new GradScaler({ enabled: config.mixedPrecision });
    let order = new DataOrder({ datasetSize: usable.length, batchSize: config.batchSize, seed: config.seed });
    const stepsPerEpoch = Math.ceil(order.batchesPerEpoch / config.accumulate);
    const plannedSteps = config.epochs * stepsPerEpoch;
    const totalSteps = config.maxSteps !== null ? Math.min(plannedSteps, config.maxSteps) : plannedSteps;

    let step = 0;
    let microBatches = 0;
    let tokensSeen = 0;
    if (config.resume) {
      const { path, run } = await readLatestCheckpoint(config.resume);
      const mismatches = configMismatches(run.config, config);
      if (mismatches.length > 0) throw new Error(`resume: ${path} was saved by a different run; it would not continue the same training:\n  ${mismatches.join('\n  ')}`);
      const state = await restoreRunCheckpoint(path, run, model, optimizer, scaler);
      order = DataOrder.resume({ datasetSize: usable.length, batchSize: config.batchSize }, state.dataOrder);
      setGeneratorState(state.generator);
      ({ step, microBatches, tokensSeen } = state);
      log(`resumed from ${path} at step ${step}`);
    }
    const startStep = step;

    const evalOptions = { maxSeqLen: config.maxSeqLen, batchSize: config.batchSize, maxNewTokens: config.maxNewTokens, mixedPrecision: config.mixedPrecision };
    const evalBefore = evalRecords.length > 0 ? await evaluate(model, tokenizer, evalRecords, evalOptions) : null;
    if (evalBefore) log(`eval before: loss ${evalBefore.loss.toFixed(4)}, exact match ${evalBefore.correct}/${evalBefore.total}`);

    resetPeakMemory();
    resetWork();
    const trainStarted = performance.now();
    const losses: { step: number; loss: number; lossScale: number }[] = [];
    let skippedSteps = 0;
    let savedTo: string | null = null;
    const save = async () => {
      savedTo = await saveRunCheckpoint(config.save!, { config, model, optimizer: optimizer!, scaler: scaler!, dataOrder: order.state, step, microBatches, tokensSeen });
    };
    model.train();
    let timeline: MemoryTimeline | null = null;
    while (step < totalSteps) {
      const recording = config.recordTimeline && step === startStep;
      if (recording) startMemoryTimeline();
      const epoch = order.state.epoch;
      const stepStarted = performance.now();
      // The window: up to `accumulate` batches, not crossing into the next epoch.
      const window = [];
      while (window.length < config.accumulate && order.state.epoch === epoch) {
        window.push(collateBatch(order.nextBatch().map((i) => usable[i])));
      }
      const counts = window.map((b) => targetTokenCount(b.labels, b.batchSize, b.seqLen));
      const windowTokens = counts.reduce((a, b) => a + b, 0);
      // The window's summed token losses stay on the device: one readback per step, not per micro-batch.
      let lossSum: Tensor | null = null;
      let windowInputTokens = 0;
      for (let i = 0; i < window.length; i++) {
        const batch = window[i];
        const loss = tidy(() => {
          const ids = tensor(batch.inputIds, batch.shape);
          const labels = tensor(batch.labels, batch.shape);
          const forward = () => microBatchLoss(model.forward(ids), labels, { mode: config.accumulationMode, accumulate: config.accumulate, windowTokens });
          return config.mixedPrecision ? autocast('f16', forward) : forward();
        });
        const scaled = scaler.scale(loss);
        backward(scaled);
        if (scaled !== loss) scaled.dispose();
        // Back to a token sum: seed mode's loss is mean/k, exact mode's is sum/windowTokens.
        const toSum = config.accumulationMode === 'seed' ? config.accumulate * counts[i] : windowTokens;
        const previous: Tensor | null = lossSum;
        lossSum = noGrad(() => tidy(() => (previous ? add(previous, mul(loss, toSum)) : mul(loss, toSum)))).keep();
        previous?.dispose();
        loss.dispose();
        windowInputTokens += batch.lengths.reduce((a, b) => a + b, 0);
        microBatches++;
      }
      const stepped = await scaler.step(optimizer);
      await scaler.update();
      optimizer.zeroGrad();
      if (recording) timeline = stopMemoryTimeline();
      if (!stepped) skippedSteps++;
      step++;
      tokensSeen += windowInputTokens;
      const loss = (await lossSum!.item()) / windowTokens;
      lossSum!.dispose();
      losses.push({ step, loss, lossScale: config.mixedPrecision ? scaler.getScale() : 1 });
      hooks.onProgress?.({
        epoch: epoch + 1, epochs: config.epochs, step, totalSteps, loss,
        tokensPerSecond: windowInputTokens / ((performance.now() - stepStarted) / 1000),
        lossScale: config.mixedPrecision ? scaler.getScale() : 1, stepped,
      });
      if (config.save && config.saveEvery !== null && step % config.saveEvery === 0 && step < totalSteps) await save();
    }
    const trainMs = performance.now() - trainStarted;
    const memory = memoryReport();
    const work = workReport();
    if (config.save) await save();
    const evalAfter = evalRecords.length > 0 ? await evaluate(model, tokenizer, evalRecords, evalOptions) : null;
    if (evalAfter) log(`eval after: loss ${evalAfter.loss.toFixed(4)}, exact match ${evalAfter.correct}/${evalAfter.total}`);
    const counts = model.parameterCounts();
    return {
      config,
      backend: { spec: opened.spec, name: opened.backend.name, reason: opened.reason },
      model: { source: prepared.source, parameters: counts.total, trainable: counts.trainable, loraAdapted: prepared.loraAdapted },
      techniques: describeTechniques(config),
      data: { train: usable.length, eval: evalRecords.length, droppedNoTarget, truncated },
      startStep, steps: step - startStep, totalSteps, skippedSteps, microBatches, tokensSeen, losses,
      runtimeMs: performance.now() - started, trainMs, memory, work, evalBefore, evalAfter, savedTo, timeline,
    };
  } finally {
    optimizer?.dispose();
    scaler?.dispose();
    model.dispose();
    // The run's backend goes away with it; whatever was current before is current again.
    forgetBackend(opened.backend, previousBackend);
    opened.backend.destroy();
  }
}
