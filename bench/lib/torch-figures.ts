// PyTorch figures for the same cases, when python3 with torch is installed:
// bench/torch_kernels.py runs them (on the CPU, and on CUDA if present) and
// reports milliseconds per op.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchCase } from './kernel-cases.js';

export interface TorchResult { readonly ms?: number; readonly error?: string }
export interface TorchFigures {
  readonly available: boolean;
  readonly reason?: string;
  readonly info?: { torch: string; threads: number; cuda: string | null; blas?: string[] };
  /** results[device][caseId] */
  readonly results: Record<string, Record<string, TorchResult>>;
}

/** The script sits next to this bench (bench/torch_kernels.py, or beside the bundle). */
export function torchScriptPath(): string {
  const candidates = [new URL('../torch_kernels.py', import.meta.url), new URL('./torch_kernels.py', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/** The first Python that imports torch: $GRADLAB_PYTHON, python3 on PATH, then Debian's own (python3-torch installs there). */
function pythonWithTorch(): string | null {
  const candidates = [process.env.GRADLAB_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) ?? null;
}

export function torchFigures(cases: readonly BenchCase[], cpuSkip: (c: BenchCase) => string | null, budgetSeconds: number): TorchFigures {
  const python = pythonWithTorch();
  if (!python) return { available: false, reason: 'no python3 that can import torch (apt-get install python3-torch, or set GRADLAB_PYTHON)', results: {} };
  const input = JSON.stringify(cases.map((c) => ({ id: c.id, op: c.torch.op, args: c.torch.args, cpuSkip: cpuSkip(c) })));
  // OpenBLAS tuning variables set for other tools (OPENBLAS_L2_SIZE=512 shrinks its blocking to
  // a few hundred bytes: 1024^3 at ~4 instead of ~60+ GFLOP/s) must not reach PyTorch.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const run = spawnSync(python, [torchScriptPath(), String(budgetSeconds)], { input, encoding: 'utf8', maxBuffer: 64 << 20, env });
  if (run.status !== 0) return { available: false, reason: `torch_kernels.py failed: ${run.stderr.trim().split('\n').pop()}`, results: {} };
  const results: Record<string, Record<string, TorchResult>> = {};
  let info: TorchFigures['info'];
  for (const line of run.stdout.trim().split('\n')) {
    const row = JSON.parse(line) as { info?: TorchFigures['info']; id?: string; device?: string; ms?: number; error?: string };
    if (row.info) { info = row.info; continue; }
    (results[row.device!] ??= {})[row.id!] = row.ms !== undefined ? { ms: row.ms } : { error: row.error };
  }
  return { available: true, info, results };
}
