// Run as a child process by adapter-discovery.test.ts: tries to open a WebGPU
// backend on the adapter named in argv[2] and prints the outcome as JSON, so
// a test can check the error a user sees when no adapter exists.

import { createWebGpuBackend } from '../../../src/backends/webgpu/index.js';

const adapter = (process.argv[2] ?? 'auto') as 'auto' | 'vulkan' | 'gles';
try {
  const backend = await createWebGpuBackend({ adapter });
  console.log(JSON.stringify({ ok: true, name: backend.name }));
  backend.destroy();
} catch (cause) {
  console.log(JSON.stringify({ ok: false, message: (cause as Error).message }));
}
