// The secret scan over a whole reports directory (evidence, logs, Allure results and attachments, the HTML report,
// JUnit, the compliance files, run files — everything, nested runs' directories included), after every validation
// run and on demand (scripts/scan-secrets.ts). Reads every regular file (symbolic links are not followed) and judges
// its bytes with lib/secret-scan.ts. Files that hold a secret are named with the kind of secret, never the secret.
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { redact } from '../redact.ts';
import { scanForSecrets } from '../secret-scan.ts';

export interface SecretFinding {
  /** Relative to the reports directory. */
  file: string;
  /** What was found and how it was encoded (never the secret itself). */
  kind: string;
  /** Byte offset of the first occurrence. */
  offset: number;
}

export interface SecretScan {
  /** When the scan ran (ISO time). */
  at: string;
  files: number;
  bytes: number;
  durationMs: number;
  findings: SecretFinding[];
  /** What was done to each file that held a secret, once the run had failed on it (see neutraliseFindings). */
  removed?: Array<{ file: string; action: string }>;
}

function listFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string) => {
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(current, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile()) files.push(path);
    }
  };
  walk(dir);
  return files;
}

/** Scans every file under `dir`; with `modifiedSince`, only files changed at or after that time. */
export function scanReports(dir: string, options: { modifiedSince?: number } = {}): SecretScan {
  const started = Date.now();
  const findings: SecretFinding[] = [];
  let files = 0;
  let bytes = 0;
  for (const path of listFiles(dir)) {
    if (options.modifiedSince !== undefined && lstatSync(path).mtimeMs < options.modifiedSince) continue;
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch {
      continue;
    }
    files += 1;
    bytes += content.length;
    for (const hit of scanForSecrets(content)) {
      findings.push({ file: relative(dir, path), kind: hit.kind, offset: hit.offset });
    }
  }
  return { at: new Date(started).toISOString(), files, bytes, durationMs: Date.now() - started, findings };
}

/**
 * After the run has failed on them: the secrets are taken out of the reports, so the directory can be shared. A text
 * file whose secrets the redaction removes is redacted; any other (a key in DER, in base64 or hex, in a binary file)
 * is replaced by a note. Returns what was done to each file.
 */
export function neutraliseFindings(
  dir: string,
  findings: readonly SecretFinding[],
): Array<{ file: string; action: string }> {
  const actions: Array<{ file: string; action: string }> = [];
  for (const file of [...new Set(findings.map((finding) => finding.file))]) {
    const path = join(dir, file);
    const text = readFileSync(path).toString('utf8');
    const redacted = text.includes('\uFFFD') ? undefined : redact(text);
    if (redacted !== undefined && scanForSecrets(redacted).length === 0) {
      writeFileSync(path, redacted);
      actions.push({ file, action: 'redacted' });
    } else {
      const kinds = findings.filter((finding) => finding.file === file).map((finding) => finding.kind);
      writeFileSync(path, `[removed by the secret scan: this file held ${kinds.join('; ')}]\n`);
      actions.push({ file, action: 'replaced by a note' });
    }
  }
  return actions;
}

/** One line per finding, for the console and the compliance files: file and kind, never the secret. */
export function describeFindings(scan: SecretScan): string[] {
  return scan.findings.map((finding) => `${finding.file}: ${finding.kind} (at byte ${finding.offset})`);
}
