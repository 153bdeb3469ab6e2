// Results as JSON (everything measured, with the machine and adapters named)
// and as a Markdown table: one row per case, one column per backend, side by
// side from one run. Compute-bound cases show GFLOP/s, memory-bound ones GB/s
// (both from the kernel-spec table's work()), with milliseconds per op.

import { cpus } from 'node:os';
import type { GpuPeak } from './gpu-peaks.js';
import type { TorchFigures } from './torch-figures.js';
import type { Timing } from './time-case.js';

export interface CaseOutcome {
  readonly id: string;
  readonly group: string;
  readonly kernel: string;
  readonly dtype: string;
  readonly shape: string;
  readonly bound: 'compute' | 'memory';
  readonly flops: number;
  readonly bytes: number;
  /** Per backend spec: a timing, or why the case did not run there. */
  readonly results: Record<string, (Timing & { gflops: number; gbps: number; fractionOfPeak?: number }) | { skipped: string }>;
  readonly torch: Record<string, { ms: number; gflops: number; gbps: number } | { skipped: string }>;
}

export interface BenchReport {
  readonly date: string;
  /** The command line that produced the report. */
  readonly command: string;
  readonly machine: { cpu: string; cores: number; node: string; platform: string };
  readonly options: Record<string, unknown>;
  readonly backends: { spec: string; name: string; kind: string; description: string; features: readonly string[] }[];
  readonly unavailable: { spec: string; reason: string }[];
  readonly torch: { available: boolean; reason?: string; info?: TorchFigures['info'] };
  readonly gpuPeak?: GpuPeak;
  /** Conformance cases run per backend before timing (--check), with any failures. */
  readonly selfCheck: Record<string, { cases: number; failures: string[] }>;
  readonly cases: CaseOutcome[];
}

export function machineInfo() {
  const list = cpus();
  return { cpu: list[0]?.model ?? 'unknown', cores: list.length, node: process.version, platform: `${process.platform}-${process.arch}` };
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));

function cell(c: CaseOutcome, r: CaseOutcome['results'][string] | CaseOutcome['torch'][string] | undefined): string {
  if (!r) return '';
  if ('skipped' in r) return `— (${r.skipped.length > 40 ? `${r.skipped.slice(0, 37)}...` : r.skipped})`;
  const headline = c.bound === 'compute' ? `${fmt(r.gflops)} GFLOP/s` : `${fmt(r.gbps)} GB/s`;
  const peak = 'fractionOfPeak' in r && r.fractionOfPeak !== undefined ? `, ${(100 * r.fractionOfPeak).toFixed(1)}% of peak` : '';
  const gpu = 'gpuMs' in r && r.gpuMs !== undefined ? `; GPU ${fmtMs(r.gpuMs)} ms` : '';
  return `${headline} (${fmtMs(r.ms)} ms${gpu}${peak})`;
}

export function markdown(report: BenchReport): string {
  const specs = report.backends.map((b) => b.spec);
  const torchDevices = report.cases.length > 0 ? Object.keys(report.cases[0].torch) : [];
  const headers = ['case', ...specs, ...torchDevices.map((d) => `PyTorch ${d}`)];
  let md = `# Kernel benchmarks\n\n${report.date} on ${report.machine.cpu} (${report.machine.cores} cores), Node ${report.machine.node}.\n\nCommand: \`${report.command}\`\n\n`;
  md += 'Backends (one run, side by side):\n\n';
  for (const b of report.backends) md += `- \`${b.spec}\` (${b.kind}): ${b.description}\n`;
  for (const u of report.unavailable) md += `- \`${u.spec}\`: not available here (${u.reason})\n`;
  md += report.torch.available
    ? `- PyTorch ${report.torch.info?.torch} (${report.torch.info?.threads} CPU threads${report.torch.info?.blas ? `, BLAS ${report.torch.info.blas.join(', ') || 'none found'}` : ''}${report.torch.info?.cuda ? `, CUDA: ${report.torch.info.cuda}` : ''})\n`
    : `- PyTorch: not run (${report.torch.reason})\n`;
  for (const [spec, check] of Object.entries(report.selfCheck)) {
    md += `- self-check on \`${spec}\`: ${check.cases} conformance cases against the f64 reference, ${check.failures.length === 0 ? 'all passed' : `${check.failures.length} FAILED (see the JSON)`}\n`;
  }
  if (report.options.matmulTile) md += `- WebGPU matmul tile forced to ${report.options.matmulTile}\n`;
  if (report.gpuPeak) {
    md += `\nFractions of peak are of the ${report.gpuPeak.name}: ${report.gpuPeak.fp32Tflops} TFLOP/s FP32 (WGSL has no tensor-core path and accumulates in f32, so f16 matmuls are compared with it too; the tensor-core FP16 peak is ${report.gpuPeak.fp16TensorTflops} TFLOP/s) and ${report.gpuPeak.memoryTBs} TB/s.\n`;
  }
  md += '\nMatmuls show GFLOP/s, everything else GB/s (FLOPs and bytes from the kernel-spec table), then ms per op; "GPU" is device time from timestamp queries. Each WebGPU figure is measured with many ops recorded per wait.\n';
  for (const group of [...new Set(report.cases.map((c) => c.group))]) {
    md += `\n## ${group}\n\n| ${headers.join(' | ')} |\n| ${headers.map(() => '---').join(' | ')} |\n`;
    for (const c of report.cases.filter((x) => x.group === group)) {
      const row = [`${c.kernel} ${c.dtype} ${c.shape}`, ...specs.map((s) => cell(c, c.results[s])), ...torchDevices.map((d) => cell(c, c.torch[d]))];
      md += `| ${row.join(' | ')} |\n`;
    }
  }
  return md;
}
