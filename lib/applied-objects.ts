// Did a server-side apply land? Judged from the objects read back from the API after it, never from the documents
// the suite sent: each object must exist and show that this apply wrote it or found it as it wanted (an Apply of the
// suite's field manager not before this apply, or the resourceVersion the apply's answer returned, or a later one).

/** Which object, as the manifest names it. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/** The parts of an object's metadata the judge reads (from the apply's answer or from a read after it). */
export interface ObjectMeta {
  kind?: string;
  namespace?: string;
  name?: string;
  resourceVersion?: string;
  managedFields?: Array<{ manager?: string; operation?: string; time?: Date | string }>;
}

export interface AppliedObject {
  ref: ObjectRef;
  /** When the suite sent this document (ms since the epoch). */
  appliedAtMs: number;
  /** The apiserver's answer to the apply; undefined when it answered nothing. */
  response: ObjectMeta | undefined;
  /** The object read from the API after the apply; undefined when it is not there. */
  readBack: ObjectMeta | undefined;
}

export const refText = (ref: ObjectRef) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

const millis = (time: Date | string | undefined) => (time === undefined ? Number.NaN : new Date(time).getTime());
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '(no time)');
const integer = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined);

/**
 * Why the API's copy of one applied object does not show this apply; empty when it does: it is there, and either the
 * suite's field manager applied it at or after this apply, or it is at the resourceVersion the apply's answer returned
 * (or a later one: a controller wrote its status since). An apply that changed nothing leaves the Apply time as it
 * was, and an object whose manifest sets no field beyond its name has no entry of the manager at all: the
 * resourceVersion is what ties those to this apply.
 */
export function appliedObjectProblems(object: AppliedObject, fieldManager: string): string[] {
  const what = refText(object.ref);
  const seen = object.readBack;
  if (!seen) return [`${what}: not found in the API after the apply`];
  if (
    seen.kind !== object.ref.kind ||
    seen.name !== object.ref.name ||
    (seen.namespace ?? '') !== (object.ref.namespace ?? '')
  )
    return [
      `${what}: the API returned ${seen.kind ?? '(no kind)'} ${seen.namespace ? `${seen.namespace}/` : ''}` +
        `${seen.name ?? '(no name)'} for it`,
    ];
  const applies = (seen.managedFields ?? []).filter(
    (entry) => entry.manager === fieldManager && entry.operation === 'Apply',
  );
  // managedFields times have a resolution of one second.
  const appliedSecond = Math.floor(object.appliedAtMs / 1000) * 1000;
  if (applies.some((entry) => millis(entry.time) >= appliedSecond)) return [];
  const answered = object.response?.resourceVersion;
  const now = integer(seen.resourceVersion);
  const then = integer(answered);
  if (
    answered !== undefined &&
    (seen.resourceVersion === answered || (now !== undefined && then !== undefined && now >= then))
  )
    return [];
  const managers = (seen.managedFields ?? []).map((entry) => `${entry.manager}/${entry.operation}`);
  const times = applies.map((entry) => iso(millis(entry.time))).join(', ');
  return [
    `${what}: not shown to be this apply's: ${
      applies.length > 0
        ? `its ${fieldManager} Apply is of ${times}, before the apply at ${iso(object.appliedAtMs)}`
        : `no Apply of field manager ${fieldManager} (managers: ${managers.join(', ') || 'none'})`
    }, and it is not at the resourceVersion the apply answered (${answered ?? 'no answer'}; the API has ` +
      `${seen.resourceVersion ?? 'none'})`,
  ];
}

/**
 * Every reason the apply did not land as `expected` says: each expected object must be among those applied, and
 * every applied object must show this apply in the API. No object at all is a problem of its own.
 */
export function applyProblems(objects: AppliedObject[], expected: ObjectRef[], fieldManager: string): string[] {
  if (objects.length === 0) return ['the apply returned no object at all'];
  const applied = new Set(objects.map((object) => refText(object.ref)));
  return [
    ...expected
      .filter((ref) => !applied.has(refText(ref)))
      .map((ref) => `${refText(ref)}: not in the manifest applied`),
    ...objects.flatMap((object) => appliedObjectProblems(object, fieldManager)),
  ];
}

/** The evidence line of one object: what the API holds after the apply. */
export function appliedObjectLine(object: AppliedObject, fieldManager: string): string {
  const seen = object.readBack;
  if (!seen) return `${refText(object.ref)}: NOT FOUND after the apply`;
  const applies = (seen.managedFields ?? [])
    .filter((entry) => entry.manager === fieldManager)
    .map((entry) => `${entry.operation} ${iso(millis(entry.time))}`);
  return (
    `${refText(object.ref)} resourceVersion=${seen.resourceVersion ?? '-'} (apply answered ` +
    `${object.response?.resourceVersion ?? '-'}) ${fieldManager}: ${applies.join(', ') || 'none'}`
  );
}
