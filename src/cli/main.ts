// gradlab's command line: `gradlab <command> [options]`. Commands are a
// table; each module exports a Command ({ name, summary, options, run }) built
// with flags.ts, which parses, validates and writes `--help` from it.
// Exit status: 0 success, 1 the command failed, 2 the command line was wrong.

import { backendSpecDetails } from './backend-specs.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { finetuneCommand } from './finetune.js';
import { generateCommand } from './generate.js';
import { matrixCommand } from './matrix.js';
import { memoryCommand } from './memory.js';
import { formatHelp, parseCommandLine, UsageError, USAGE_EXIT_CODE, type Command } from './flags.js';

/** Every command, in the order `gradlab help` lists them. Add a command by adding its module here. */
export const COMMANDS: readonly Command[] = [finetuneCommand, generateCommand, matrixCommand, memoryCommand, demoCommand, doctorCommand];

export function usage(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4) + 2;
  return [
    'usage: gradlab <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${'help'.padEnd(width)}this text; 'gradlab help <command>' (or 'gradlab <command> --help') for a command's options`,
    '',
    'backend specs (--backend):',
    ...backendSpecDetails().slice(1),
    '',
    'exit status: 0 success, 1 the command failed, 2 the command line was wrong',
  ].join('\n');
}

function reportUsageError(err: UsageError): number {
  const where = err.command ? `gradlab ${err.command}` : 'gradlab';
  console.error(`${where}: ${err.message}\nrun '${where} --help' for usage`);
  return err.exitCode;
}

export async function main(argv: readonly string[], commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(usage(commands));
    return USAGE_EXIT_CODE;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    if (topic === undefined) {
      console.log(usage(commands));
      return 0;
    }
    const command = commands.find((c) => c.name === topic);
    if (!command) return reportUsageError(new UsageError(`no command '${topic}'; commands: ${commands.map((c) => c.name).join(', ')}`));
    console.log(formatHelp(command));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const hint = name.startsWith('-') ? `options come after the command` : `commands: ${commands.map((c) => c.name).join(', ')}, help`;
    return reportUsageError(new UsageError(`unknown command '${name}'; ${hint}`));
  }
  try {
    const parsed = parseCommandLine(command, rest);
    if (parsed.kind === 'help') {
      console.log(parsed.text);
      return 0;
    }
    return await command.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (err instanceof UsageError) return reportUsageError(err);
    console.error(`gradlab ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
