// Opening a weight file for reading. open() succeeds on a directory on Linux
// and only the first read fails, with a bare EISDIR that names no file; so the
// kind of path is checked here and every problem names the file.

import { open, type FileHandle } from 'node:fs/promises';
import { WeightFileError } from './weight-file-error.js';

export async function openWeightFile(file: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new WeightFileError(file, `cannot open: ${(err as Error).message}`);
  }
  try {
    const stats = await fh.stat();
    if (stats.isDirectory()) throw new WeightFileError(file, 'is a directory, not a weight file; pass the path of the file inside it (e.g. model.safetensors)');
    if (!stats.isFile()) throw new WeightFileError(file, 'is not a regular file (a device, socket or pipe cannot be read as weights)');
    return { fh, size: stats.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
