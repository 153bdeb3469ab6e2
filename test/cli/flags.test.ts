// flags.ts: the declaration is the parser, the validator and the help text.
// Expected messages are written here from the cases (issue 11, item 7).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  commaList, defineCommand, formatHelp, integer, nonNegativeNumber, number, oneOf, parseCommandLine, path,
  positiveInteger, positiveNumber, UsageError, USAGE_EXIT_CODE, type Command, type OptionSpecs,
} from '../../src/cli/flags.js';

const probe = defineCommand({
  name: 'probe',
  summary: 'a command for tests',
  options: {
    steps: { type: 'string', short: 's', description: 'steps', value: positiveInteger(), default: '10' },
    lr: { type: 'string', description: 'learning rate', value: positiveNumber() },
    scale: { type: 'string', description: 'scale', value: nonNegativeNumber() },
    mode: { type: 'string', description: 'mode', value: oneOf(['fast', 'exact'] as const), default: 'fast' },
    sizes: { type: 'string', description: 'sizes', value: commaList(positiveInteger()) },
    json: { type: 'boolean', short: 'j', description: 'json output' },
  },
  run: async () => 0,
});

function usageError(args: string[], command: Command<OptionSpecs> = probe as unknown as Command<OptionSpecs>): UsageError {
  try {
    parseCommandLine(command, args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`no UsageError for ${JSON.stringify(args)}`);
}

function values(args: string[]) {
  const out = parseCommandLine(probe, args);
  if (out.kind !== 'run') throw new Error('expected a run');
  return out.values;
}

describe('flags: values', () => {
  it('applies defaults, parses typed values, and gives booleans false when absent', () => {
    expect(values([])).toEqual({ steps: 10, lr: undefined, scale: undefined, mode: 'fast', sizes: undefined, json: false });
    expect(values(['--steps', '3', '--lr=1e-4', '--scale', '0', '--mode', 'exact', '--sizes', '1, 2,4', '-j']))
      .toEqual({ steps: 3, lr: 1e-4, scale: 0, mode: 'exact', sizes: [1, 2, 4], json: true });
    expect(values(['-s', '7']).steps).toBe(7);
  });

  it.each([
    [['--steps', '-1'], "-s/--steps: '-1' is not a positive integer"],
    [['--steps', '0'], "-s/--steps: '0' is not a positive integer"],
    [['--steps', 'abc'], "-s/--steps: 'abc' is not a positive integer"],
    [['--steps', '1.5'], "-s/--steps: '1.5' is not a positive integer"],
    [['--steps', '1e3'], "-s/--steps: '1e3' is not a positive integer"],
    [['--steps='], '-s/--steps: an empty value is not a positive integer'],
    [['--steps', '9007199254740993'], "-s/--steps: '9007199254740993' is not a positive integer"],
    [['--steps'], '-s/--steps needs a value: a positive integer'],
    [['-s'], '-s/--steps needs a value: a positive integer'],
    [['--steps', '--json'], '-s/--steps needs a value: a positive integer'],
    [['--lr', '0'], "--lr: '0' is not a positive number"],
    [['--lr', 'NaN'], "--lr: 'NaN' is not a positive number"],
    [['--lr', 'Infinity'], "--lr: 'Infinity' is not a positive number"],
    [['--lr', '0x10'], "--lr: '0x10' is not a positive number"],
    [['--scale', '-0.5'], "--scale: '-0.5' is not a number >= 0"],
    [['--mode', 'slow'], "--mode: 'slow' is not one of fast, exact"],
    [['--sizes', '1,,2'], "--sizes: '1,,2' has an empty item; expected a comma-separated list of positive integer"],
    [['--sizes', '1,x'], "--sizes: item 2 of '1,x': 'x' is not a positive integer"],
    [['--bogus'], "unknown option '--bogus'; 'probe' accepts: --steps (-s), --lr, --scale, --mode, --sizes, --json (-j), --help (-h)"],
    [['-x'], "unknown option '-x'"],
    [['--json=yes'], '--json is a switch and takes no value'],
    [['extra'], "unexpected argument 'extra'; 'probe' takes no positional arguments"],
  ])('%j -> %s', (args, message) => {
    const err = usageError(args);
    expect(err.message.startsWith(message), err.message).toBe(true);
    expect(err.command).toBe('probe');
    expect(err.exitCode).toBe(USAGE_EXIT_CODE);
    expect(USAGE_EXIT_CODE).toBe(2);
  });

  it('integer and number bounds are inclusive unless stated', () => {
    const kind = integer({ min: -2, max: 3 });
    expect(kind.parse('-2')).toBe(-2);
    expect(kind.parse('3')).toBe(3);
    expect(() => kind.parse('4')).toThrow("'4' is not an integer from -2 to 3");
    const ratio = number({ min: 0, max: 1 });
    expect(ratio.parse('1')).toBe(1);
    expect(() => ratio.parse('1.01')).toThrow("'1.01' is not a number >= 0 and <= 1");
  });

  it('path checks existence and kind, naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradlab-flags-'));
    const file = join(dir, 'w.safetensors');
    writeFileSync(file, 'x');
    expect(path({ mustBe: 'file' }).parse(file)).toBe(file);
    expect(() => path({ mustBe: 'file' }).parse(dir)).toThrow(`'${dir}' is a directory; expected the path of an existing file`);
    expect(() => path({ mustBe: 'file' }).parse(join(dir, 'nope'))).toThrow(`'${join(dir, 'nope')}' does not exist`);
    expect(() => path({ mustBe: 'directory' }).parse(file)).toThrow('is not a directory');
    expect(path().parse(join(dir, 'out.json'))).toBe(join(dir, 'out.json'));
    expect(() => path().parse('')).toThrow('an empty value is not a path');
  });
});

describe('flags: help and positionals', () => {
  it('--help and -h anywhere before -- return the help text generated from the declaration', () => {
    for (const args of [['--help'], ['-h'], ['--steps', 'abc', '--help'], ['--bogus', '-h']]) {
      const out = parseCommandLine(probe, args);
      expect(out.kind).toBe('help');
    }
    const text = formatHelp(probe as unknown as Command<OptionSpecs>);
    expect(text.split('\n')[0]).toBe('usage: gradlab probe [options]');
    for (const line of ['-s, --steps N', '--lr X', '--mode fast|exact', '-j, --json', '-h, --help']) expect(text).toContain(line);
    expect(text).toContain('steps; a positive integer (default: 10)');
  });

  it('declared positionals are counted: missing required ones and extra ones are errors', () => {
    const gen = defineCommand({
      name: 'gen',
      summary: 'generate',
      options: {},
      positionals: [{ name: 'prompt', description: 'the prompt text', required: true }],
      run: async () => 0,
    }) as unknown as Command<OptionSpecs>;
    const ok = parseCommandLine(gen, ['hello']);
    expect(ok.kind === 'run' && ok.positionals).toEqual(['hello']);
    expect(usageError([], gen).message).toBe('missing prompt (the prompt text)');
    expect(usageError(['a', 'b'], gen).message).toBe("unexpected argument 'b'; 'gen' takes at most 1");
    const dashed = parseCommandLine(gen, ['--', '--help']);
    expect(dashed.kind === 'run' && dashed.positionals).toEqual(['--help']);
  });

  it('refuses a declaration that redefines --help', () => {
    expect(() => defineCommand({ name: 'x', summary: '', options: { help: { type: 'boolean', description: '' } }, run: async () => 0 })).toThrow('--help/-h is generated');
  });
});
