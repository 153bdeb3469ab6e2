// gradlab's public API.

import './autograd/tensor-methods.js';

// Tensors, creation, lifetimes
export { Tensor, type TensorValues } from './tensor/tensor.js';
export type { DType, FloatDType } from './tensor/dtype.js';
export { tensor, zeros, ones, full, arange, randn, rand, type CreateOptions } from './tensor/creation.js';
export { tidy, keep, dispose } from './tensor/scope.js';
export { manualSeed, getGeneratorState, setGeneratorState, type GeneratorState } from './tensor/generator.js';
export { f64ToF16Bits, f16BitsToNumber, roundToF16 } from './tensor/f16.js';

// Backends
export type { Backend, BackendCapabilities } from './backends/backend.js';
export { CpuBackend, CPU_MAX_BUFFER_ENV, CPU_DEFAULT_MAX_BUFFER_BYTES, type CpuBackendOptions } from './backends/cpu/cpu-backend.js';
export { createBackend, parseBackendSpec, BACKEND_NAMES, type BackendName } from './backends/registry.js';
export { useBackend, currentBackend, withBackend } from './tensor/runtime.js';
export { DeviceAssertError } from './tensor/deferred-index-checks.js';

// Memory ledger and work counter
export { memoryReport, resetPeakMemory, workReport, resetWork, type PrintableMemoryReport, type PrintableWorkReport } from './tensor/reports.js';
export { MEMORY_CATEGORIES, formatBytes, type MemoryCategory, type MemoryReport } from './tensor/memory-ledger.js';
export { PHASES, withPhase, type Phase, type WorkReport } from './tensor/work-counter.js';

// Autograd
export * from './autograd/functional.js';
export { backward, type BackwardOptions } from './autograd/backward.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { zeroGrad } from './autograd/grad-utils.js';
export { checkpoint } from './autograd/checkpoint.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { registeredOps } from './autograd/differentiable-op.js';

// Training
export { AdamW, type AdamWOptions, type AdamWStateDict, type AdamWParamState, type AdamWParamGroup, type HostTensorData, type ZeroGradOptions } from './train/adamw.js';
export { GradScaler, type GradScalerOptions, type GradScalerStateDict, type GradScalerOptimizer } from './train/grad-scaler.js';
export { autocast, isAutocastEnabled, autocastDType, autocastCacheSize, clearAutocastCache, type AutocastDType, type AutocastOptions } from './autograd/autocast.js';
export { storeFrozenWeightsInF16, type FrozenHalfPrecisionResult } from './nn/frozen-half-precision.js';
export * from './train/data/index.js';
export { finetune, type FinetuneResult, type FinetuneProgress, type FinetuneHooks } from './train/finetune.js';
export { resolveFinetuneConfig, describeTechniques, type FinetuneOptions, type FinetuneConfig, type LoraConfig, type AccumulationMode } from './train/finetune-config.js';
export { formatFinetuneReport } from './train/finetune-report.js';
export { microBatchLoss, targetTokenCount, type MicroBatchNormalization } from './train/causal-lm-loss.js';
export { evaluate, type EvaluationResult, type EvaluationSample, type EvaluationOptions } from './train/evaluate.js';
export { greedyGenerate, completePrompt, type GenerateOptions } from './train/generate.js';
export { prepareModel, type PreparedModel } from './train/model-setup.js';
export { saveRunCheckpoint, readLatestCheckpoint, restoreRunCheckpoint, loadFinetunedModel, type RunState } from './train/run-checkpoint.js';

// Memory timeline and the study layer
export { startMemoryTimeline, stopMemoryTimeline, recordMemoryTimeline, isMemoryTimelineRecording, type MemoryEvent, type MemoryEventKind, type MemoryTimeline, type MemoryTimelineStart } from './tensor/memory-timeline.js';
export { withOpContext, withModuleContext, type MemoryContext } from './tensor/memory-context.js';
export type { MemoryLedgerListener } from './tensor/memory-ledger.js';
export { replayMemoryTimeline, liveBytesSeries, peakLocation, type TimelineReplay, type PeakLocation } from './study/timeline-replay.js';
export { exportMemoryTimeline, memoryTimelineToJson, pytorchRawEvents, pytorchTimelineSizes, labelWithPytorchCategories, PYTORCH_MEMORY_CATEGORIES, PYTORCH_CATEGORY_OF, PYTORCH_ACTIONS, type PytorchMemoryCategory, type PytorchLabelledEvent, type ExportedMemoryEvent, type MemoryTimelineJson, type TimeAxis } from './study/timeline-export.js';
export { stackedMemoryChart, runtimeChart, predictedVsMeasuredChart, timelineChart, renderVegaLite, CATEGORY_COLORS, CATEGORY_LABELS, type CombinationMemoryRow, type CombinationRuntimeRow, type PredictedVsMeasuredPoint, type ChartOptions, type TimelineChartOptions } from './study/charts.js';
export { predictTrainingMemory, formatMemoryPrediction, explainPeak, formatPeakExplanation, peakComponentSource, predictTechniqueMatrix, formatTechniqueMatrix, blockSavedActivationsFromModel, gigabytes, A100_CAPACITIES, PREDICTION_ASSUMPTIONS, type TrainingMemoryPrediction, type StepMemoryPrediction, type PredictedPeakPlace, type PeakExplanation, type PeakComponent, type TechniqueMatrixRow, type TechniqueMatrixOptions } from './study/memory-model.js';
export { resolveTrainingMemorySpec, describeSpec, type TrainingMemorySpec, type TrainingMemoryOptions, type TrainingMemoryLora } from './study/memory-model-spec.js';
export { measureTrainingMemory, type MeasuredTraining, type MeasuredStep } from './study/memory-model-measure.js';
export { allCombinations, combinationName, parseCombinationName, PLAIN, type Combination } from './study/matrix-combinations.js';
export { runCombination, buildStudyModel, DEFAULT_MATRIX_SETTINGS, type MatrixSettings, type CombinationResult, type StepMeasurement, type PeakFigures } from './study/matrix-runner.js';
export { runMatrix, machineInfo, findCombination, type MatrixResult, type MachineInfo, type MatrixRunOptions } from './study/matrix.js';
export { syntheticBatches, embeddedBatches, type FixedBatch } from './study/matrix-batches.js';
export { matrixJson, parseMatrixJson, matrixMarkdown, matrixPageMarkdown } from './study/matrix-report.js';
export { checkPredictions, predictCombination, predictedVsMeasuredPoints, type PredictionCheck } from './study/matrix-prediction.js';
export { techniqueEffects, techniqueEffectsMarkdown, arrow, type TechniqueEffect } from './study/tables-technique-effects.js';
export { buildTable2, table2Markdown, explainSeedCell, predictSeedSetting, type Table2 } from './study/tables-seed-layout.js';
export { SEED_CELLS, SEED_SETTINGS, TABLE_1_CLAIMS, seedPrintedValue, type SeedCell } from './study/seed-study.js';
export { chooseBestBackend, isSoftwareAdapter, type BackendChoice, type BackendCandidate } from './backends/best-backend.js';
export * from './nn/index.js';
export * from './train/weights/index.js';

// Accelerator backends with their typed options (Dawn and gpu.js load only when one is created)
export { createWebGpuBackend, probeWebGpu, type WebGpuBackend, type WebGpuBackendOptions } from './backends/webgpu/index.js';
export { createGpuJsBackend, probeGpuJs, type GpuJsBackend, type GpuJsBackendOptions } from './backends/gpujs/index.js';
export { createWasmBackend, probeWasm, type WasmBackend, type WasmBackendOptions } from './backends/wasm/index.js';
