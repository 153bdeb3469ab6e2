// gradlab's command line: `gradlab <command> [options]`.

import { runDemo } from './demo.js';
import { runDoctor } from './doctor.js';

const USAGE = `gradlab <command> [options]

commands:
  demo [--backend SPEC] [--steps N]   train a small MLP and print the memory and work reports
  doctor [--json] [--quick]           list backends, adapters, features and limits, and
                                      self-check every kernel against the CPU reference
  help                                this text

backend SPEC: cpu | webgpu | webgpu:vulkan | webgpu:gles | webgpu:vulkan:packed |
              gpujs:auto | gpujs:webgpu | gpujs:webasm | gpujs:cpu`;

export function parseFlags(args: readonly string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'\n\n${USAGE}`);
    const [key, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) flags.set(key, inline);
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) flags.set(key, args[++i]);
    else flags.set(key, true);
  }
  return flags;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'demo': return await runDemo(parseFlags(rest));
      case 'doctor': return await runDoctor(parseFlags(rest));
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return command === undefined ? 1 : 0;
      default:
        console.error(`unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    console.error(`gradlab ${command}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
