// Severity levels of the catalogue's controls, most severe first, and the one comparison on them. Its own module so
// the catalogue (lib/controls.ts) and the configuration (lib/config.ts, which validates waivers and phase selections
// against the catalogue) both use it without importing each other.
export const SEVERITY_LEVELS = ['blocker', 'critical', 'normal', 'minor', 'trivial'] as const;
export type SeverityLevel = (typeof SEVERITY_LEVELS)[number];

/** True when `severity` is at least as severe as `threshold` (blocker > critical > normal > minor > trivial). */
export function severityAtLeast(severity: SeverityLevel, threshold: SeverityLevel): boolean {
  return SEVERITY_LEVELS.indexOf(severity) <= SEVERITY_LEVELS.indexOf(threshold);
}
