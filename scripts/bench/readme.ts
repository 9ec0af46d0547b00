// `npm run bench -- --update-readme`: the README's figures come from the bench, not typed by hand. Each part that ran
// replaces its block in README.md, between `<!-- bench:<part>:begin -->` and `<!-- bench:<part>:end -->`; the
// blocks of parts that did not run keep their earlier figures (and their date).
import { readFileSync, writeFileSync } from 'node:fs';
import { type BenchResults, tableLines } from './results.ts';

export function updateReadme(file: string, results: BenchResults): string {
  let text = readFileSync(file, 'utf8');
  const updated: string[] = [];
  for (const part of new Set(results.rows.map((item) => item.part))) {
    const begin = `<!-- bench:${part}:begin -->`;
    const end = `<!-- bench:${part}:end -->`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) continue;
    const { host } = results;
    const block = [
      begin,
      `Measured by \`npm run bench\` on ${results.generatedAt.slice(0, 10)}: ${host.cpus} CPU(s), ${host.cpuModel}, ` +
        `Node ${host.node}.`,
      '',
      ...tableLines(results.rows.filter((item) => item.part === part)),
      '',
    ].join('\n');
    text = `${text.slice(0, from)}${block}${text.slice(to)}`;
    updated.push(part);
  }
  writeFileSync(file, text);
  return updated.length > 0
    ? `README.md: figures of ${updated.join(', ')} updated from this run`
    : 'README.md: no bench block of the parts that ran (markers <!-- bench:<part>:begin/end -->)';
}
