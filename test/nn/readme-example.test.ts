// The README's model example is examples/lora-step.ts verbatim, and it runs:
// load, LoRA, forward, loss, backward, gradients only on the LoRA factors.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('the README quotes examples/lora-step.ts exactly', () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(readme).toContain('```ts\n' + readFileSync('examples/lora-step.ts', 'utf8') + '```');
});

it('the example runs: a finite loss, and gradients on the LoRA factors only', () => {
  const lines = execFileSync('npx', ['tsx', 'examples/lora-step.ts'], { encoding: 'utf8' }).split('\n');
  expect(lines[0]).toMatch(/^loss \d+\.\d+/);
  // tiny: dim 64, 4 heads, 2 kv heads (head dim 16), so wq is 64x64 and wv 32x64; r = 16.
  expect(lines.slice(1, 5)).toEqual([
    'layers.0.attention.wq.lora_A 16x64', 'layers.0.attention.wq.lora_B 64x16',
    'layers.0.attention.wv.lora_A 16x64', 'layers.0.attention.wv.lora_B 32x16',
  ]);
  expect(lines[5]).toMatch(/^category/);
}, 60_000);
