// Measures the main job as a user runs it: `npm run finetune` (the tiny
// preset on the embedded data set, the best backend found), wall-clock from
// process start to exit, against the target of two minutes on a 2-core
// machine without a GPU. Writes bench/results/finetune-default.{json,md}.
//
//   npx tsx bench/finetune-default.ts [--runs N]

import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' } }, strict: true });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

const TARGET_S = 120;
const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
const results: { wallS: number; report: any }[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  // --json gives the same run's report as data; the command is otherwise exactly `npm run finetune`.
  const child = spawnSync('npm', ['run', '--silent', 'finetune', '--', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallS = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`npm run finetune failed (${child.status}):\n${child.stderr}`);
  const report = JSON.parse(child.stdout);
  results.push({ wallS, report });
  console.log(`run ${i + 1}: ${wallS.toFixed(1)} s wall (target ${TARGET_S} s); backend ${report.backend.spec}; loss ${report.losses[0].loss.toFixed(3)} -> ${report.losses.at(-1).loss.toFixed(3)}`);
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadavg().map((x) => x.toFixed(1)).join(' '), commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
};
const walls = results.map((r) => r.wallS);
const summary = {
  command: 'npx tsx bench/finetune-default.ts' + (runs > 1 ? ` --runs ${runs}` : ''),
  measured: 'wall-clock seconds of `npm run finetune -- --json` (process start to exit, evaluation before and after included)',
  targetSeconds: TARGET_S,
  machine,
  runs: results.map(({ wallS, report }) => ({
    wallSeconds: +wallS.toFixed(2), backend: report.backend, steps: report.steps, trainSeconds: +(report.trainMs / 1000).toFixed(2),
    runtimeSeconds: +(report.runtimeMs / 1000).toFixed(2), firstLoss: report.losses[0].loss, lastLoss: report.losses.at(-1).loss,
    evalLossBefore: report.evalBefore?.loss, evalLossAfter: report.evalAfter?.loss, exactMatchAfter: report.evalAfter?.exactMatch,
    peakBytes: report.memory.peakTotal, flops: report.work.total.flops,
  })),
  medianWallSeconds: +walls.sort((a, b) => a - b)[Math.floor(walls.length / 2)].toFixed(2),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/finetune-default.json', `${JSON.stringify(summary, null, 2)}\n`);
const md = [
  '# `npm run finetune` on the embedded default',
  '',
  `Command: \`${summary.command}\` (commit ${machine.commit}); ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}; load average before/after ${machine.loadAverageBefore} / ${machine.loadAverageAfter}.`,
  `Measured: ${summary.measured}. Target: ${TARGET_S} s on a 2-core machine without a GPU.`,
  '',
  '| run | wall s | backend | steps | training s | loss first -> last | held-out loss before -> after |',
  '|---|---|---|---|---|---|---|',
  ...summary.runs.map((r, i) => `| ${i + 1} | ${r.wallSeconds} | ${r.backend.spec} | ${r.steps} | ${r.trainSeconds} | ${r.firstLoss.toFixed(3)} -> ${r.lastLoss.toFixed(3)} | ${r.evalLossBefore?.toFixed(3)} -> ${r.evalLossAfter?.toFixed(3)} |`),
  '',
  `Median wall time: ${summary.medianWallSeconds} s (${summary.medianWallSeconds <= TARGET_S ? 'within' : 'OVER'} the ${TARGET_S} s target).`,
  '',
].join('\n');
writeFileSync('bench/results/finetune-default.md', md);
console.log(md);
