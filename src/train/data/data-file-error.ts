// One error type for every data-file problem (Alpaca JSON, tokenizer files): it names the
// file and, where it applies, the record index and the field, so bad data is never skipped.

export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly recordIndex?: number,
    readonly field?: string,
  ) {
    const where = recordIndex === undefined ? '' : ` record ${recordIndex}${field === undefined ? '' : ` field '${field}'`}`;
    super(`${file}:${where} ${problem}`);
    this.name = 'DataFileError';
  }
}
