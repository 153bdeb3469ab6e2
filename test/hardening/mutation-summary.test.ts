// scripts/mutation-summary.ts: StrykerJS's JSON report -> mutation score per
// folder. Expected figures counted by hand from the report below.

import { describe, expect, it } from 'vitest';
import { markdown, mergeReports, scoresByFolder } from '../../scripts/mutation-summary.js';

const m = (status: string) => ({ status });
const report = {
  files: {
    'src/tensor/memory-ledger.ts': { mutants: [m('Killed'), m('Killed'), m('Survived'), m('Timeout')] },
    '/abs/path/src/autograd/ops/views.ts': { mutants: [m('Killed'), m('NoCoverage'), m('CompileError')] },
    'src/autograd/ops/reductions.ts': { mutants: [m('Killed'), m('Killed')] },
  },
};

describe('mutation summary', () => {
  it('scores each folder and all folders together', () => {
    const rows = scoresByFolder(report);
    expect(rows.map((r) => r.folder)).toEqual(['src/autograd/ops', 'src/tensor', 'all']);
    // autograd/ops: 3 killed, 1 no coverage, 1 compile error -> 3/4 = 75 %, covered 3/3 = 100 %.
    expect(rows[0]).toMatchObject({ mutants: 5, killed: 3, noCoverage: 1, errors: 1, score: 75, scoreCovered: 100 });
    // tensor: 2 killed + 1 timeout detected of 4 -> 75 %.
    expect(rows[1]).toMatchObject({ mutants: 4, killed: 2, timeout: 1, survived: 1, score: 75, scoreCovered: 75 });
    // all: 6 detected of 8 valid -> 75 %; covered 6 / 7 = 85.7 %.
    expect(rows[2]).toMatchObject({ mutants: 9, score: 75, scoreCovered: 85.7 });
    expect(markdown(rows, 'npm run mutate', '2026-12-02')).toContain('| src/tensor | 4 | 2 | 1 | 1 | 0 | 0 | 75 | 75 |');
  });

  it('merges the per-folder reports of mutate-by-folder.sh, refusing a file reported twice', () => {
    const [ledger, ops] = [{ files: { 'src/tensor/memory-ledger.ts': report.files['src/tensor/memory-ledger.ts'] } },
      { files: { 'src/autograd/ops/reductions.ts': report.files['src/autograd/ops/reductions.ts'] } }];
    const rows = scoresByFolder(mergeReports([ledger, ops]));
    expect(rows.map((r) => [r.folder, r.mutants])).toEqual([['src/autograd/ops', 2], ['src/tensor', 4], ['all', 6]]);
    expect(() => mergeReports([ledger, ledger])).toThrow('src/tensor/memory-ledger.ts appears in two reports');
  });
});
