// The command-line plumbing shared by `src/cli` and `src/bench` (which the cli drives), kept
// below both so neither imports the other back.

/** Bad command-line usage: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
