// Exact-match scoring of generated answers.
//
// normalizeAnswer: trim leading/trailing whitespace and collapse every inner run of whitespace
// (spaces, tabs, newlines) to one space. Case and punctuation are kept: "DOG" and "dog" differ,
// because some tasks (uppercasing) are about case.

export function normalizeAnswer(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

export function exactMatch(prediction: string, expected: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(expected);
}

/** Fraction of predictions that exactly match their expected answers (0 for an empty list). */
export function exactMatchRate(predictions: readonly string[], expected: readonly string[]): number {
  if (predictions.length !== expected.length) {
    throw new Error(`exactMatchRate: ${predictions.length} predictions but ${expected.length} expected answers`);
  }
  if (predictions.length === 0) return 0;
  let hits = 0;
  predictions.forEach((p, i) => {
    if (exactMatch(p, expected[i]!)) hits++;
  });
  return hits / predictions.length;
}
