// Where the workload's lines go. Progress on stdout, failures on stderr; tests pass their own to capture lines.
// Nothing here ever receives private key material: SVIDs hold their key as a KeyObject, which prints no bytes.

export interface Logger {
  info(line: string): void;
  error(line: string): void;
}

export const consoleLogger: Logger = {
  info: (line) => console.log(line),
  error: (line) => console.error(line),
};

/** The message of a thrown value, for one-line reports. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
