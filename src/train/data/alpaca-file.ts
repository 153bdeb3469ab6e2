// Reading Alpaca-format data: a JSON array of {instruction, input?, output}. Every problem is an
// error naming the file, the record index and the field; no record is ever skipped.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AlpacaRecord } from './alpaca-prompt.js';
import { DataFileError } from './data-file-error.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Validate parsed JSON as Alpaca records; `file` names the source in errors. Returns fresh
 * records with exactly instruction, input ('' when absent) and output; extra keys are ignored.
 */
export function parseAlpacaRecords(value: unknown, file: string): Required<AlpacaRecord>[] {
  if (!Array.isArray(value)) throw new DataFileError(file, `must hold a JSON array of records, got ${describe(value)}`);
  return value.map((record: unknown, index) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new DataFileError(file, `is not an object (got ${describe(record)})`, index);
    }
    const fields = record as Record<string, unknown>;
    const text = (field: string, required: boolean): string => {
      if (!(field in fields)) {
        if (required) throw new DataFileError(file, 'is missing', index, field);
        return '';
      }
      const v = fields[field];
      if (typeof v !== 'string') throw new DataFileError(file, `must be a string, got ${describe(v)}`, index, field);
      return v;
    };
    return { instruction: text('instruction', true), input: text('input', false), output: text('output', true) };
  });
}

/** Parse Alpaca JSON text; `file` names the source in errors. */
export function parseAlpacaJson(text: string, file: string): Required<AlpacaRecord>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataFileError(file, `is not valid JSON: ${(e as Error).message}`);
  }
  return parseAlpacaRecords(value, file);
}

/** Read and validate an Alpaca JSON file. */
export async function loadAlpacaFile(path: string | URL): Promise<Required<AlpacaRecord>[]> {
  const file = path instanceof URL ? fileURLToPath(path) : path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DataFileError(file, `cannot be read: ${(e as Error).message}`);
  }
  return parseAlpacaJson(text, file);
}
