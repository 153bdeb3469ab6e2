// One error type for every weight-file problem, naming the file and what is wrong.

export class WeightFileError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'WeightFileError';
  }
}
