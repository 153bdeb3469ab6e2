// Issue 11, item 12: the repository carries every document it points to.
// Each `SOMETHING.md` named in DESIGN.md, README.md, scripts/ and src/ must
// exist in the repository (at the path given, or under docs/).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function filesUnder(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(path);
  }
  return out;
}

const sources = ['DESIGN.md', 'README.md', ...filesUnder('scripts', ['.sh', '.py', '.ts']), ...filesUnder('src', ['.ts'])];

describe('documents the repository points to', () => {
  it('every referenced *.md file exists in the repository', () => {
    const missing: string[] = [];
    let references = 0;
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[A-Z][\w-]*\.md)\b/g)) {
        references++;
        const ref = m[1];
        if (!existsSync(ref) && !existsSync(join('docs', ref))) missing.push(`${file}: ${ref}`);
      }
    }
    expect(references).toBeGreaterThan(2); // the scan sees DESIGN.md's and the scripts' references
    expect(missing).toEqual([]);
  });

  it('the portable GPU run page is in docs/ and the bundle script points to it', () => {
    expect(existsSync('docs/PORTABLE-GPU-RUN.md')).toBe(true);
    expect(readFileSync('scripts/portable-gpu-bundle.sh', 'utf8')).toContain('docs/PORTABLE-GPU-RUN.md');
    expect(readFileSync('DESIGN.md', 'utf8')).toContain('docs/PORTABLE-GPU-RUN.md');
  });
});
