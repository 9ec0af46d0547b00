// Why a control did not pass, in the two classes on-call engineers triage differently: the infrastructure was not
// ready (host, provisioning, cluster, SPIRE itself) or the identity/mTLS behaviour is wrong (registration, SVIDs,
// mutual TLS, negative controls). Decided by the control's phase, and by message patterns that mean "something
// underneath was missing" whatever the phase. Used for the `failureCategory` label (Allure 3 categories in
// allurerc.mjs) and for categories.json (Allure 2 format, matched on the failure message).
import type { Control } from '../controls.ts';
import type { MatrixRow } from './matrix.ts';

export type FailureCategory = 'warning' | 'infrastructure' | 'identity' | 'blocked' | 'not-run';

/**
 * Phases whose failure means the platform under the workload is not ready: provisioning, host, cluster, CNI, SPIRE
 * itself, the image in the cluster, the deployment coming up. Every other phase (registration, SVIDs in Docker and
 * in pods, mTLS, negative controls, rotation) tests identity and mTLS behaviour.
 */
export const INFRASTRUCTURE_PHASES: ReadonlySet<string> = new Set([
  'provision',
  'host',
  'cluster',
  'cni',
  'spire',
  'image',
  'deploy',
]);

/** Messages that point at missing infrastructure even in an identity phase (daemon down, socket missing, node not ready). */
export const INFRASTRUCTURE_MESSAGES =
  'ECONNREFUSED|ENOENT|EACCES|ETIMEDOUT|EHOSTUNREACH|connection refused|no such file or directory|' +
  'Cannot connect to the Docker daemon|is not running|not provisioned|NotReady|ImagePullBackOff|ErrImagePull|' +
  'ErrImageNeverPull|ContainerCreating|no cluster configured|no space left on device';

const INFRA_RE = new RegExp(INFRASTRUCTURE_MESSAGES);

export function failureCategory(row: MatrixRow): FailureCategory | undefined {
  switch (row.status) {
    case 'PASS':
      return undefined;
    case 'WARN':
      return 'warning';
    case 'BLOCKED':
      return 'blocked';
    case 'SKIP':
      return row.skip === 'blocked' ? 'blocked' : 'not-run';
    case 'FAIL':
      return INFRASTRUCTURE_PHASES.has(row.phase) || INFRA_RE.test(row.reason ?? '') ? 'infrastructure' : 'identity';
  }
}

export const CATEGORY_NAMES: Record<FailureCategory, string> = {
  warning: 'WARN: failed below the fail-on severity',
  infrastructure: 'Infrastructure not ready',
  identity: 'Identity / mTLS defect',
  blocked: 'Not judged: blocked by a prerequisite',
  'not-run': 'Not run or not applicable',
};

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Allure2Category {
  name: string;
  description: string;
  matchedStatuses: string[];
  messageRegex: string;
}

/**
 * categories.json in Allure 2's format (whole-message regexes). Failure messages start with "<id> failed:" (control()),
 * WARN messages with "WARN", BLOCKED ones with "BLOCKED", skip reasons with their kind ("blocked:", "not-run:",
 * "not-applicable:"; written into the results after the run).
 */
export function allure2Categories(controls: readonly Control[]): Allure2Category[] {
  const ids = (infra: boolean) =>
    controls
      .filter((control) => INFRASTRUCTURE_PHASES.has(control.phase) === infra)
      .map((control) => escapeRegex(control.id));
  const infraIds = ids(true);
  const identityIds = ids(false);
  const anyOf = (list: string[]) => (list.length > 0 ? list.join('|') : '(?!)');
  return [
    {
      name: CATEGORY_NAMES.warning,
      description: 'The control failed, but its severity is below failOnSeverity, so the run did not fail.',
      matchedStatuses: ['failed'],
      messageRegex: '^WARN[\\s\\S]*',
    },
    {
      name: CATEGORY_NAMES.blocked,
      description:
        'Never judged because a prerequisite failed or a handle it needs was not provided; the reason names the root ' +
        'cause. BLOCKED (severity at or above fail-on) fails the run; below it, the control is skipped.',
      matchedStatuses: ['failed', 'skipped'],
      messageRegex: '^(?:BLOCKED|blocked)[\\s\\S]*',
    },
    {
      name: CATEGORY_NAMES.infrastructure,
      description: 'Host, provisioning, cluster or SPIRE were not ready; fix the platform first.',
      matchedStatuses: ['failed', 'broken'],
      messageRegex: `^(?:(?:${anyOf(infraIds)}) failed[\\s\\S]*|[\\s\\S]*(?:${INFRASTRUCTURE_MESSAGES})[\\s\\S]*)$`,
    },
    {
      name: CATEGORY_NAMES.identity,
      description: 'Registration, SVID issuance, SPIFFE ID or mutual TLS did not behave as required.',
      matchedStatuses: ['failed'],
      messageRegex: `^(?:${anyOf(identityIds)}) failed[\\s\\S]*`,
    },
    {
      name: CATEGORY_NAMES['not-run'],
      description: 'No phase ran this control, or a phase skipped it as not applicable here (with the reason).',
      matchedStatuses: ['skipped'],
      messageRegex: '^(?!blocked|BLOCKED)[\\s\\S]*',
    },
  ];
}
