// The SPIRE release the validation is pinned to, and whether a binary's `--version` output is that release. The
// judge keeps its own pin: provisioning has one too, and a check must not compare a constant with itself.

export const PINNED_SPIRE_VERSION = '1.13.3';

/** "1.13.3" (a release), or "1.13.3-dev-…" (a build from the module's source, which has no release stamp). */
export function isPinnedSpireVersion(printed: string, pin: string = PINNED_SPIRE_VERSION): boolean {
  const first = printed.trim().split('\n')[0]?.trim() ?? '';
  return first === pin || first.startsWith(`${pin}-dev-`);
}
