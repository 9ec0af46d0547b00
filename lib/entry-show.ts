// `spire-server entry show` (pretty output) split into entries, one block per entry, so a judge reads the fields of
// one entry and never matches lines that belong to different entries. The format, as SPIRE 1.13 prints it:
//
//   Found 2 entries
//   Entry ID         : 1b5d…
//   SPIFFE ID        : spiffe://example.org/k8s-workload
//   Parent ID        : spiffe://example.org/spire/agent/join_token/…
//   Revision         : 0
//   X509-SVID TTL    : default            (or seconds)
//   JWT-SVID TTL     : default
//   Selector         : k8s:ns:default     (one line per selector)
//   Hint             : spire-k8s-validation   (only when the entry has one)
//   <blank line>
//
// Anything that does not fit (an unknown layout, a field outside an entry, a count that disagrees with "Found N")
// is an EntryShowError naming the line, rather than a guess.
import type { RegistrationEntry } from './registration-entry.ts';

export class EntryShowError extends Error {
  override name = 'EntryShowError';
}

const FIELD = /^([A-Za-z0-9 -]+?)\s*:\s?(.*)$/;
const FOUND = /^Found (\d+) entr(?:y|ies)$/;

function ttl(value: string, line: number): number {
  if (value === 'default') return 0;
  if (!/^\d+$/.test(value))
    throw new EntryShowError(`line ${line}: X509-SVID TTL "${value}" is neither a number nor "default"`);
  return Number(value);
}

export function parseEntryShow(output: string): RegistrationEntry[] {
  const entries: RegistrationEntry[] = [];
  let announced: number | undefined;
  let current: (Partial<RegistrationEntry> & { selectors: string[] }) | undefined;
  const close = () => {
    if (!current) return;
    for (const field of ['id', 'spiffeId', 'parentId', 'x509SvidTtl'] as const) {
      if (current[field] === undefined)
        throw new EntryShowError(`entry ${current.id ?? `#${entries.length + 1}`} has no ${field} line`);
    }
    entries.push({ hint: '', ...current } as RegistrationEntry);
    current = undefined;
  };
  const lines = output.split('\n');
  lines.forEach((raw, index) => {
    const number = index + 1;
    const line = raw.trimEnd();
    if (line.trim() === '') {
      close();
      return;
    }
    const found = FOUND.exec(line);
    if (found) {
      if (announced !== undefined || current || entries.length > 0)
        throw new EntryShowError(`line ${number}: "${line}" after the entries had begun`);
      announced = Number(found[1]);
      return;
    }
    const field = FIELD.exec(line);
    if (!field) throw new EntryShowError(`line ${number}: "${line}" is not a "Field : value" line`);
    const [, name = '', value = ''] = field;
    if (name === 'Entry ID') {
      close();
      current = { id: value, selectors: [] };
      return;
    }
    if (!current) throw new EntryShowError(`line ${number}: "${line}" comes before any "Entry ID" line`);
    const once = (key: 'spiffeId' | 'parentId' | 'x509SvidTtl' | 'hint', parsed: string | number) => {
      if (current?.[key] !== undefined)
        throw new EntryShowError(`line ${number}: a second ${name} line in entry ${current?.id}`);
      (current as Record<string, unknown>)[key] = parsed;
    };
    if (name === 'SPIFFE ID') once('spiffeId', value);
    else if (name === 'Parent ID') once('parentId', value);
    else if (name === 'X509-SVID TTL') once('x509SvidTtl', ttl(value, number));
    else if (name === 'Selector') current.selectors.push(value);
    else if (name === 'Hint') once('hint', value);
    // Revision, JWT-SVID TTL, Expiration time, FederatesWith, DNS name, Admin, Downstream, StoreSvid: not judged.
  });
  close();
  if (announced === undefined) throw new EntryShowError('no "Found N entries" line: not the output of entry show');
  if (announced !== entries.length)
    throw new EntryShowError(`the output announces ${announced} entries but holds ${entries.length}`);
  return entries;
}
