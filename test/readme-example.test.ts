// The README's MLP example is examples/train-mlp.ts verbatim, and it runs.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('quotes examples/train-mlp.ts exactly', () => {
    const readme = readFileSync('README.md', 'utf8');
    const example = readFileSync('examples/train-mlp.ts', 'utf8');
    expect(readme).toContain('```ts\n' + example + '```');
  });

  it('trains: the loss falls by more than 10x and the report prints', () => {
    const out = execFileSync('npx', ['tsx', 'examples/train-mlp.ts'], { encoding: 'utf8' });
    const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBe(4);
    expect(losses[3]).toBeLessThan(losses[0] / 10);
    expect(out).toMatch(/optimizer state\s+1\.25 KiB/); // m and v of 32*4 + 32 f32 params = 2 * 640 B
  });
}, 60_000);
