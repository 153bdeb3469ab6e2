// The gradlab CLI's command line (issue 11, item 7): every bad value names the
// flag and what it accepts and exits 2; unknown flags are refused; every
// command has --help/-h; the usage lists every backend spec the README lists.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS, main } from '../../src/cli/main.js';

interface Captured { code: number; out: string; err: string }

async function run(...argv: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('gradlab command line', () => {
  it.each([
    [['demo', '--steps', '-1'], "gradlab demo: -s/--steps: '-1' is not a positive integer"],
    [['demo', '--steps', '0'], "gradlab demo: -s/--steps: '0' is not a positive integer"],
    [['demo', '--steps', 'abc'], "gradlab demo: -s/--steps: 'abc' is not a positive integer"],
    [['demo', '--steps', '1.5'], "gradlab demo: -s/--steps: '1.5' is not a positive integer"],
    [['demo', '--steps'], 'gradlab demo: -s/--steps needs a value: a positive integer'],
    [['demo', '--bogus'], "gradlab demo: unknown option '--bogus'"],
    [['doctor', '--bogus'], "gradlab doctor: unknown option '--bogus'"],
    [['demo', '--backend'], 'gradlab demo: -b/--backend needs a value: a backend spec'],
    [['demo', '--backend', 'tpu'], "gradlab demo: -b/--backend: unknown backend 'tpu'"],
    [['demo', '--backend', 'webgpu:bogus'], "gradlab demo: -b/--backend: webgpu backend: unknown variant 'bogus'"],
    [['demo', 'extra'], "gradlab demo: unexpected argument 'extra'"],
    [['bogus'], "gradlab: unknown command 'bogus'"],
    [['help', 'bogus'], "gradlab: no command 'bogus'"],
  ])('%j exits 2 naming the problem', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.startsWith(message), r.err).toBe(true);
    expect(r.err).toContain('--help');
  });

  it('no command prints the usage on stderr and exits 2; help, --help and -h print it on stdout and exit 0', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.err).toContain('usage: gradlab <command> [options]');
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(none.err);
    }
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help and -h print its options and run nothing', async (name) => {
    const long = await run(name, '--help');
    const short = await run(name, '-h');
    const viaHelp = await run('help', name);
    expect(long.code).toBe(0);
    expect(long.out.split("\n")[0].startsWith(`usage: gradlab ${name} [options]`)).toBe(true);
    expect(long.out).toContain('-h, --help');
    expect(short.out).toBe(long.out);
    expect(viaHelp.out).toBe(long.out);
    expect(long.out).not.toMatch(/^step +\d+ +loss/m); // nothing trained (demo prints 'step    1  loss ...')
  });

  it('the usage and demo --help list every backend spec the README lists', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const usage = (await run('help')).out;
    const demoHelp = (await run('demo', '--help')).out;
    const specs = ['cpu', 'webgpu', 'webgpu:vulkan', 'webgpu:gles', 'webgpu:vulkan:packed', 'webgpu:vulkan:native', ':profile',
      'gpujs', 'gpujs:auto', 'gpujs:webgpu', 'gpujs:webasm', 'gpujs:cpu'];
    // The README names ':native' as a suffix rather than spelling webgpu:vulkan:native.
    for (const spec of [...specs.filter((s) => s !== 'webgpu:vulkan:native'), ':native']) expect(readme, spec).toContain(spec);
    for (const spec of specs) {
      expect(usage, spec).toContain(spec);
      expect(demoHelp, spec).toContain(spec);
    }
  });

  it('demo with valid flags trains and exits 0; doctor --json=x is refused', async () => {
    const r = await run('demo', '-s', '2', '--backend=cpu', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/step {4}2 {2}loss \d+\.\d{5}/);
    expect((await run('doctor', '--json=x')).err).toContain('--json is a switch and takes no value');
  });

  it('bin/gradlab.js exits 2 with the message on stderr (not 1 and silent)', () => {
    const r = spawnSync('node', ['bin/gradlab.js', 'demo', '--steps', '-1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("gradlab demo: -s/--steps: '-1' is not a positive integer");
    expect(execFileSync('node', ['bin/gradlab.js', 'demo', '-h'], { encoding: 'utf8' })).toContain('usage: gradlab demo');
  });
});
