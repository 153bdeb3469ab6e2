// Turns StrykerJS's JSON report into the mutation score per folder, written to
// bench/results/mutation-score.{json,md}: `npm run mutate` runs it after Stryker.
//   npx tsx scripts/mutation-summary.ts [REPORT.json ...] [OUT_BASENAME]
// Several reports (one per folder, from scripts/mutate-by-folder.sh) are merged.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';

interface Mutant { status: string }
interface Report { files: Record<string, { mutants: Mutant[] }> }

export interface FolderScore {
  folder: string;
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  /** (killed + timeout) / (killed + timeout + survived + noCoverage), Stryker's mutation score, in %. */
  score: number;
  /** The same over covered mutants only (NoCoverage left out), in %. */
  scoreCovered: number;
}

const KILLED = new Set(['Killed']);

/** One report from several runs over disjoint files; a file in two reports is an error, not a silent overwrite. */
export function mergeReports(reports: readonly Report[]): Report {
  const files: Report['files'] = {};
  for (const report of reports) {
    for (const [file, entry] of Object.entries(report.files)) {
      if (Object.hasOwn(files, file)) throw new Error(`mutation-summary: ${file} appears in two reports`);
      files[file] = entry;
    }
  }
  return { files };
}

export function scoresByFolder(report: Report): FolderScore[] {
  const folders = new Map<string, Mutant[]>();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const folder = posix.dirname(file.replace(/\\/g, '/').replace(/^.*?(src\/)/, '$1'));
    folders.set(folder, [...(folders.get(folder) ?? []), ...mutants]);
  }
  const all = [...folders.values()].flat();
  const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([folder, ms]) => score(folder, ms));
  rows.push(score('all', all));
  return rows;
}

function score(folder: string, mutants: Mutant[]): FolderScore {
  const count = (s: string) => mutants.filter((m) => m.status === s).length;
  const killed = mutants.filter((m) => KILLED.has(m.status)).length;
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const errors = count('CompileError') + count('RuntimeError');
  const detected = killed + timeout;
  const pct = (n: number, d: number) => (d === 0 ? 100 : Math.round((1000 * n) / d) / 10);
  return {
    folder, mutants: mutants.length, killed, timeout, survived, noCoverage, errors,
    score: pct(detected, detected + survived + noCoverage), scoreCovered: pct(detected, detected + survived),
  };
}

export function markdown(rows: readonly FolderScore[], command: string, date: string): string {
  return [
    `# Mutation score per folder (StrykerJS)`,
    '',
    `\`${command}\`, ${date}. Score = (killed + timed out) / (killed + timed out + survived + no coverage); "covered" leaves out mutants no test reaches.`,
    '',
    '| folder | mutants | killed | timeout | survived | no coverage | errors | score % | covered % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.folder} | ${r.mutants} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.errors} | ${r.score} | ${r.scoreCovered} |`),
    '',
  ].join('\n');
}

if (process.argv[1]?.endsWith('mutation-summary.ts')) {
  const args = process.argv.slice(2);
  const reportPaths = args.filter((a) => a.endsWith('.json'));
  const out = args.find((a) => !a.endsWith('.json')) ?? 'bench/results/mutation-score';
  if (reportPaths.length === 0) reportPaths.push('bench/results/tmp/mutation/mutation.json');
  const rows = scoresByFolder(mergeReports(reportPaths.map((p) => JSON.parse(readFileSync(p, 'utf8')) as Report)));
  const command = process.env.GRADLAB_MUTATE_COMMAND ?? 'npm run mutate';
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify({ command, date, folders: rows }, null, 2)}\n`);
  writeFileSync(`${out}.md`, markdown(rows, command, date));
  console.log(markdown(rows, command, date));
}
