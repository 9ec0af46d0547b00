// `node scripts/scan-secrets.ts [dir]`: the secret scan the validation runs after every run, on demand and read-only
// — every file under the reports directory (or `dir`) searched for private keys (PEM armour; DER PKCS#8, SEC1,
// PKCS#1, encrypted PKCS#8, OpenSSH; raw, base64, hex, nested) and SPIRE join tokens. Prints each file and the kind of
// secret in it (never the secret), and how long the scan took. Exit 1 when anything is found, 2 on a bad argument or
// configuration. Unlike the run's own scan, it changes nothing.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigOrExplain } from '../lib/config.ts';
import { describeFindings, scanReports } from '../lib/report/reports-scan.ts';

function main(): number {
  const [argument] = process.argv.slice(2);
  let dir: string;
  if (argument) {
    dir = resolve(argument);
  } else {
    const config = loadConfigOrExplain();
    if (!config) return 2;
    dir = config.reportsDir;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`${dir} is not a directory`);
    return 2;
  }
  const scan = scanReports(dir);
  const read = `${scan.files} files, ${(scan.bytes / 1e6).toFixed(1)} MB in ${scan.durationMs} ms`;
  if (scan.findings.length === 0) {
    console.log(`secret scan of ${dir}: PASS, no private key and no join token (${read})`);
    return 0;
  }
  const files = new Set(scan.findings.map((finding) => finding.file)).size;
  console.log(`secret scan of ${dir}: FAIL, ${files} file(s) hold a private key or a join token (${read}):`);
  for (const line of describeFindings(scan)) console.log(`  ${line}`);
  return 1;
}

process.exitCode = main();
