// Issue 11, item 11: npm 11 blocks dependency install scripts unless
// package.json's allowScripts covers them, and warns on every `npm ci` about
// those it does not. Every installed package with an install script must have
// a decision there; and the packages whose scripts are denied must work
// without them (esbuild finds its platform binary package at run time;
// webgpu's postinstall only clears macOS's quarantine attribute).

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

function packagesWithInstallScripts(dir = 'node_modules', found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) { packagesWithInstallScripts(path, found); continue; }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; version: string; scripts?: Record<string, string> };
      if (INSTALL_SCRIPTS.some((s) => pkg.scripts?.[s])) found.push(`${pkg.name}@${pkg.version}`);
    }
    if (existsSync(join(path, 'node_modules'))) packagesWithInstallScripts(join(path, 'node_modules'), found);
  }
  return found;
}

describe('install scripts (npm allowScripts)', () => {
  const allow = (JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};

  it('every installed package with an install script has an allowScripts decision', () => {
    const pending = packagesWithInstallScripts().filter((id) => {
      const name = id.slice(0, id.lastIndexOf('@'));
      return !(name in allow) && !(id in allow);
    });
    expect(packagesWithInstallScripts().length).toBeGreaterThan(0); // the scan sees esbuild and webgpu
    expect(pending).toEqual([]);
  });

  it('esbuild and webgpu are denied, and both work without their scripts', async () => {
    expect(allow).toMatchObject({ esbuild: false, webgpu: false });
    const esbuild = await import('esbuild');
    expect(esbuild.transformSync('let x: number = 1', { loader: 'ts' }).code.trim()).toBe('let x = 1;');
    expect(execFileSync('node_modules/.bin/esbuild', ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const webgpu = (await import('webgpu')) as { create: unknown };
    expect(typeof webgpu.create).toBe('function');
  });
});
