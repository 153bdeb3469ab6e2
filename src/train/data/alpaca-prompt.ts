// Stanford Alpaca's prompt templates and example assembly.
//
// Templates copied from PROMPT_DICT in tatsu-lab/stanford_alpaca train.py
// (https://github.com/tatsu-lab/stanford_alpaca/blob/main/train.py, checked at commit
// c8ea92b1c360269f787036fb3746b9e2dea120e5). The reference picks "prompt_input" when
// example.get("input", "") != "" and appends the target f"{output}{eos_token}" directly after
// "### Response:" (no newline: a known quirk we keep as the default).

export interface AlpacaRecord {
  instruction: string;
  /** Optional; absent or '' selects the no-input template. */
  input?: string;
  output: string;
}

export const ALPACA_PROMPT_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:';

export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:';

export interface AlpacaPromptOptions {
  /**
   * Text put after "### Response:" before the output. Default '' (the reference's behaviour);
   * '\n' gives the commonly used variant where the answer starts on its own line.
   */
  responseSeparator?: string;
}

/** The source (prompt) of a record: the template filled in, ending with the response separator. */
export function buildAlpacaPrompt(record: AlpacaRecord, options: AlpacaPromptOptions = {}): string {
  const input = record.input ?? '';
  // One pass with a replacer function, like Python's format_map: '$' sequences and braces
  // inside the data stay literal and substituted text is never re-scanned.
  const template = input !== '' ? ALPACA_PROMPT_INPUT : ALPACA_PROMPT_NO_INPUT;
  const filled = template.replace(/\{(instruction|input)\}/g, (_, field: string) => (field === 'input' ? input : record.instruction));
  return filled + (options.responseSeparator ?? '');
}
