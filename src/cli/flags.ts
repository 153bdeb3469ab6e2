// Declarative command-line flags over Node's `util.parseArgs` in strict mode.
// A command declares its options once (type, short alias, description,
// default, and the kind of value it accepts); the same declaration gives the
// parser, the validation and the `--help` text, so they cannot drift apart.
// Every bad input becomes a UsageError that names the flag and what it
// accepts; the CLI's main prints it and exits with USAGE_EXIT_CODE.

import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Exit status for a command line the CLI could not accept (as in BSD's EX_USAGE tradition of a distinct code). */
export const USAGE_EXIT_CODE = 2;

/** A command line that was wrong: unknown flag, missing or invalid value, unexpected argument. */
export class UsageError extends Error {
  readonly exitCode = USAGE_EXIT_CODE;
  /** The command whose `--help` explains the fix ('' for the top level). */
  readonly command: string;
  constructor(message: string, command = '') {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/**
 * What a string flag accepts: a placeholder for the help text (`N`, `SPEC`),
 * a phrase completing "expects ..." (`a positive integer`), and a parser that
 * returns the typed value or throws an Error whose message says why `raw` is not
 * acceptable (the flag name is added by the caller).
 */
export interface ValueKind<T> {
  readonly placeholder: string;
  readonly accepts: string;
  parse(raw: string): T;
}

export interface StringOption<T> {
  readonly type: 'string';
  readonly short?: string;
  readonly description: string;
  readonly value: ValueKind<T>;
  /** Raw default, parsed by `value` like a typed one (so a bad default fails loudly, in tests). */
  readonly default?: string;
  /** Extra lines shown under the option in `--help` (e.g. the list of backend specs). */
  readonly details?: readonly string[];
  /** The value a bare flag (no value after it) stands for, making the value optional: `--lora` = `--lora=16,32,0.05`. */
  readonly bareValue?: string;
}

export interface BooleanOption {
  readonly type: 'boolean';
  readonly short?: string;
  readonly description: string;
}

export type OptionSpec = StringOption<unknown> | BooleanOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed values: booleans are always present, string options with a default are T, others T | undefined. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]: O[K] extends BooleanOption
    ? boolean
    : O[K] extends StringOption<infer T>
      ? O[K] extends { readonly default: string } ? T : T | undefined
      : never;
};

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
}

/** One CLI command: `gradlab <name> [options]`. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** One line for the command table. */
  readonly summary: string;
  /** Paragraph(s) shown in the command's `--help` under the usage line. */
  readonly description?: string;
  readonly options: O;
  /** Positional arguments; a command without them rejects any. */
  readonly positionals?: readonly PositionalSpec[];
  readonly examples?: readonly string[];
  /** Runs the command; resolves to the process exit status. (Method syntax keeps Command<X> assignable to Command.) */
  run(values: OptionValues<O>, positionals: readonly string[]): Promise<number>;
}

/** Identity with inference: `defineCommand({ name, options: {...}, run(values) {...} })` types `values`. */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command<O> {
  for (const [name, spec] of Object.entries(command.options)) {
    if (name === 'help' || spec.short === 'h') throw new Error(`command '${command.name}': --help/-h is generated, do not declare it`);
  }
  return command;
}

// ---------------------------------------------------------------- value kinds

function describeRaw(raw: string): string {
  return raw === '' ? 'an empty value' : `'${raw}'`;
}

/** An integer in [min, max], written in plain decimal digits (no 1.5, 1e3, 0x10, or ''). */
export function integer(options: { min?: number; max?: number; placeholder?: string } = {}): ValueKind<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const accepts = min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive integer'
    : min === 0 && max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer'
      : `an integer from ${min} to ${max}`;
  return {
    placeholder: options.placeholder ?? 'N',
    accepts,
    parse(raw) {
      const n = /^-?[0-9]+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${describeRaw(raw)} is not ${accepts}`);
      return n;
    },
  };
}

export const positiveInteger = (placeholder = 'N'): ValueKind<number> => integer({ min: 1, placeholder });
export const nonNegativeInteger = (placeholder = 'N'): ValueKind<number> => integer({ min: 0, placeholder });

/** A finite decimal number (1, 0.5, 1e-4) with optional bounds; NaN, Infinity, '' and hex are refused. */
export function number(options: { min?: number; max?: number; minExclusive?: boolean; placeholder?: string } = {}): ValueKind<number> {
  const { min, max, minExclusive = false } = options;
  const accepts = min === 0 && max === undefined
    ? (minExclusive ? 'a positive number' : 'a number >= 0')
    : `a number${min === undefined ? '' : ` ${minExclusive ? '>' : '>='} ${min}`}${max === undefined ? '' : `${min === undefined ? '' : ' and'} <= ${max}`}`;
  return {
    placeholder: options.placeholder ?? 'X',
    accepts,
    parse(raw) {
      const n = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(raw.trim()) ? Number(raw) : NaN;
      const ok = Number.isFinite(n)
        && (min === undefined || (minExclusive ? n > min : n >= min))
        && (max === undefined || n <= max);
      if (!ok) throw new Error(`${describeRaw(raw)} is not ${accepts}`);
      return n;
    },
  };
}

export const nonNegativeNumber = (placeholder = 'X'): ValueKind<number> => number({ min: 0, placeholder });
export const positiveNumber = (placeholder = 'X'): ValueKind<number> => number({ min: 0, minExclusive: true, placeholder });

/** One of a fixed set of words. */
export function oneOf<const V extends string>(values: readonly V[], placeholder?: string): ValueKind<V> {
  const accepts = `one of ${values.join(', ')}`;
  return {
    placeholder: placeholder ?? values.join('|'),
    accepts,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`${describeRaw(raw)} is not ${accepts}`);
      return raw as V;
    },
  };
}

/** A comma-separated list whose items each satisfy `item` (`cpu,webgpu`, `1,2,4`); empty items are refused. */
export function commaList<T>(item: ValueKind<T>, options: { minItems?: number; unique?: boolean } = {}): ValueKind<T[]> {
  const minItems = options.minItems ?? 1;
  const accepts = `a comma-separated list of ${item.accepts.replace(/^(a|an|one of) /, (m) => (m === 'one of ' ? 'values from ' : ''))}${minItems > 1 ? ` (at least ${minItems})` : ''}`;
  return {
    placeholder: `${item.placeholder}[,${item.placeholder}...]`,
    accepts,
    parse(raw) {
      const parts = raw.split(',').map((p) => p.trim());
      if (parts.some((p) => p === '')) throw new Error(`${describeRaw(raw)} has an empty item; expected ${accepts}`);
      if (parts.length < minItems) throw new Error(`${describeRaw(raw)} has ${parts.length} item(s); expected ${accepts}`);
      if (options.unique && new Set(parts).size !== parts.length) throw new Error(`${describeRaw(raw)} repeats an item`);
      return parts.map((p, i) => {
        try {
          return item.parse(p);
        } catch (err) {
          throw new Error(`item ${i + 1} of ${describeRaw(raw)}: ${(err as Error).message}`);
        }
      });
    },
  };
}

export type PathMustBe = 'file' | 'directory' | 'any' | 'nothing';

/**
 * A file-system path. `mustBe: 'file'` (or 'directory') checks that it exists
 * and is one, so a directory passed as a weights file is named at the command
 * line rather than failing later with a bare EISDIR; 'any' accepts whatever
 * exists; 'nothing' (the default) only refuses an empty value (outputs).
 */
export function path(options: { mustBe?: PathMustBe; placeholder?: string } = {}): ValueKind<string> {
  const mustBe = options.mustBe ?? 'nothing';
  const accepts = mustBe === 'file' ? 'the path of an existing file'
    : mustBe === 'directory' ? 'the path of an existing directory'
      : mustBe === 'any' ? 'an existing path' : 'a path';
  return {
    placeholder: options.placeholder ?? 'PATH',
    accepts,
    parse(raw) {
      if (raw.trim() === '') throw new Error(`an empty value is not ${accepts}`);
      if (mustBe === 'nothing') return raw;
      let stats;
      try {
        stats = statSync(raw);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(`'${raw}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`}; expected ${accepts}`);
      }
      if (mustBe === 'file' && !stats.isFile()) throw new Error(`'${raw}' is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}; expected ${accepts}`);
      if (mustBe === 'directory' && !stats.isDirectory()) throw new Error(`'${raw}' is not a directory; expected ${accepts}`);
      return raw;
    },
  };
}

// ------------------------------------------------------------------ parsing

export type ParseOutcome<O extends OptionSpecs> =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'run'; readonly values: OptionValues<O>; readonly positionals: readonly string[] };

function flagName(name: string, spec: OptionSpec): string {
  return spec.short ? `-${spec.short}/--${name}` : `--${name}`;
}

function knownFlags(command: Command<OptionSpecs>): string {
  const names = Object.entries(command.options).map(([name, spec]) => `--${name}${spec.short ? ` (-${spec.short})` : ''}`);
  return [...names, '--help (-h)'].join(', ');
}

/** Finds the option an argument names (`--steps`, `--steps=3`, `-s`), or undefined. */
function optionOf(command: Command<OptionSpecs>, arg: string): [string, OptionSpec] | undefined {
  if (arg.startsWith('--')) {
    const name = arg.slice(2).split('=', 1)[0];
    const spec = command.options[name];
    return spec ? [name, spec] : undefined;
  }
  if (/^-[^-]$/.test(arg)) return Object.entries(command.options).find(([, spec]) => spec.short === arg[1]);
  return undefined;
}

const NEGATIVE_NUMBER = /^-(?:[0-9]|\.[0-9])/;

/**
 * Checks string options for a missing value before parseArgs sees them, so
 * the message names the flag and what it accepts, and lets a negative number
 * be a value (`--steps -1` reaches the validator, which explains why -1 is
 * wrong, instead of parseArgs' "ambiguous" error).
 */
function normalise(command: Command<OptionSpecs>, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const found = optionOf(command, arg);
    if (found && found[1].type === 'string' && !arg.includes('=')) {
      const [name, spec] = found;
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('-') && !NEGATIVE_NUMBER.test(next))) {
        const bare = (spec as StringOption<unknown>).bareValue;
        if (bare !== undefined) {
          out.push(`--${name}=${bare}`);
          continue;
        }
        throw new UsageError(`${flagName(name, spec)} needs a value: ${(spec as StringOption<unknown>).value.accepts}`, command.name);
      }
      out.push(`--${name}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function parseArgsError(command: Command<OptionSpecs>, err: unknown): UsageError {
  const e = err as Error & { code?: string };
  const quoted = /'([^']+)'/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option '${quoted ?? '?'}'; ${command.name ? `'${command.name}' accepts` : 'accepted'}: ${knownFlags(command)}`, command.name);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument '${quoted ?? '?'}'; ${command.positionals?.length ? `'${command.name}' takes at most ${command.positionals.length}` : `'${command.name}' takes no positional arguments`}`, command.name);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // The remaining case after normalise(): a value given to a boolean flag (`--json=yes`).
      return new UsageError(`${/--[\w-]+/.exec(quoted ?? '')?.[0] ?? 'an option'} is a switch and takes no value`, command.name);
    default:
      return new UsageError(e.message, command.name);
  }
}

/**
 * Parses `args` (the words after the command name) against the command's
 * declaration. `--help`/`-h` anywhere before `--` asks for the help text.
 * Throws UsageError for anything the declaration does not accept.
 */
export function parseCommandLine<O extends OptionSpecs>(command: Command<O>, args: readonly string[], program = 'gradlab'): ParseOutcome<O> {
  const generic = command as unknown as Command<OptionSpecs>;
  const endOfOptions = args.indexOf('--');
  const optionPart = endOfOptions === -1 ? args : args.slice(0, endOfOptions);
  if (optionPart.includes('--help') || optionPart.includes('-h')) return { kind: 'help', text: formatHelp(generic, program) };

  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(generic.options)) parseOptions[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: normalise(generic, args), options: parseOptions, strict: true, allowPositionals: (generic.positionals?.length ?? 0) > 0 }) as typeof parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw parseArgsError(generic, err);
  }

  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(generic.options)) {
    const raw = parsed.values[name];
    if (spec.type === 'boolean') {
      values[name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : spec.default;
    if (text === undefined) {
      values[name] = undefined;
      continue;
    }
    try {
      values[name] = spec.value.parse(text);
    } catch (err) {
      throw new UsageError(`${flagName(name, spec)}: ${(err as Error).message}`, generic.name);
    }
  }

  const declared = generic.positionals ?? [];
  const missing = declared.slice(parsed.positionals.length).filter((p) => p.required);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((p) => p.name).join(', ')} (${missing.map((p) => p.description).join('; ')})`, generic.name);
  if (parsed.positionals.length > declared.length) {
    throw new UsageError(`unexpected argument '${parsed.positionals[declared.length]}'; '${generic.name}' takes at most ${declared.length}`, generic.name);
  }
  return { kind: 'run', values: values as OptionValues<O>, positionals: parsed.positionals };
}

// --------------------------------------------------------------------- help

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/** The usage line of a command: `gradlab demo [options] <prompt>`. */
export function usageLine(command: Command<OptionSpecs>, program = 'gradlab'): string {
  const positionals = (command.positionals ?? []).map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`));
  return [program, command.name, '[options]', ...positionals].filter(Boolean).join(' ');
}

/** `--help` text generated from the declaration. */
export function formatHelp(command: Command<OptionSpecs>, program = 'gradlab'): string {
  const rows: [string, string[]][] = [];
  for (const [name, spec] of Object.entries(command.options)) {
    const left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? (spec.bareValue !== undefined ? ` [${spec.value.placeholder}]` : ` ${spec.value.placeholder}`) : ''}`;
    const right = [spec.description];
    if (spec.type === 'string') {
      right[0] += `; ${spec.value.accepts}${spec.default !== undefined ? ` (default: ${spec.default})` : ''}`;
      right.push(...(spec.details ?? []));
    }
    rows.push([left, right]);
  }
  rows.push(['-h, --help', ['show this help and exit']]);
  const leftWidth = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  const out = [`usage: ${usageLine(command, program)}`, ''];
  out.push(...wrap(command.description ?? command.summary, 78), '');
  if (command.positionals?.length) {
    out.push('arguments:');
    for (const p of command.positionals) out.push(`  ${p.name.padEnd(leftWidth)}${p.description}${p.required ? '' : ' (optional)'}`);
    out.push('');
  }
  out.push('options:');
  for (const [left, right] of rows) {
    const [first, ...more] = right;
    const body = [...wrap(first, 76 - leftWidth), ...more];
    if (left.length + 2 > leftWidth) {
      out.push(`  ${left}`);
      for (const line of body) out.push(`  ${' '.repeat(leftWidth)}${line}`);
    } else {
      body.forEach((line, i) => out.push(`  ${(i === 0 ? left : '').padEnd(leftWidth)}${line}`));
    }
  }
  if (command.examples?.length) out.push('', 'examples:', ...command.examples.map((e) => `  ${e}`));
  return out.join('\n');
}
