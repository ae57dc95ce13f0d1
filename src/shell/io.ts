/** Where the CLI writes; tests capture it instead of the process streams. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}
