// The checklist catalogue: every control the suite asserts, in one place. The phases in suites/ reference controls
// by id; the reports read the same list, so a control that no phase ran still shows up (as not run).
// Titles keep the wording of the Phase 3 seed (its "Complete Testing Checklist", the "Expected Output" lines of its
// set-up and demo steps, and its "Testing and Verification" checks); remediations come from its troubleshooting guide.
import type { SeverityLevel } from './config.ts';

export interface Phase {
  /** Matches the suite file name prefix, e.g. '20' for suites/20-spire.test.ts. */
  order: string;
  name: string;
}

export const PHASES = {
  provision: { order: '00', name: 'Provisioning' },
  spire: { order: '20', name: 'SPIRE server and agent' },
  registration: { order: '30', name: 'Workload registration' },
  docker: { order: '40', name: 'Docker workload identity' },
} as const satisfies Record<string, Phase>;

export type PhaseKey = keyof typeof PHASES;

export interface Control {
  id: string;
  title: string;
  phase: PhaseKey;
  severity: SeverityLevel;
  /** Where the control comes from in the seed. */
  source: string;
  /** Controls that must have passed for this one to be meaningful; otherwise it is skipped as blocked. */
  requires: string[];
  /** What to do when it does not pass. */
  remediation: string;
}

const SPIRE_NOT_RUNNING =
  'Start SPIRE (the seed: `sudo ./start_spire_agent.sh`; or let the suite start it by leaving the sockets free). ' +
  'Check `pgrep -a spire-server` / `pgrep -a spire-agent` and the SPIRE logs for the reason it stopped.';
const SOCKET_REMEDIATION =
  'Issue 3 "Pod Cannot Access SPIRE Socket": verify the SPIRE Agent is running (`pgrep -a spire-agent`); ensure the socket ' +
  'exists (`ls -la /tmp/spire-agent/public/api.sock`); check socket permissions allow access; verify the hostPath ' +
  'mount is correct; restart the SPIRE Agent if necessary.';
const SVID_FETCH_REMEDIATION =
  'Issue 5 "SVID Fetch Fails": verify the workload is registered (`/opt/spire/bin/spire-server entry show`); check that ' +
  'the registration selectors match the workload (labels); ensure the SPIRE Agent can attest the workload; check the ' +
  'SPIRE Agent log for attestation errors; re-register the workload with correct selectors; restart the workload.';

const catalogue: Control[] = [
  // Provisioning: what the later phases run on. Not in the seed, which assumes a prepared host.
  {
    id: 'PROV-01',
    title: 'Node.js runtime satisfies the suite (>= 22.18)',
    phase: 'provision',
    severity: 'blocker',
    source: 'Prerequisites',
    requires: [],
    remediation:
      'Run the suite through `scripts/with-node24.sh`, which installs Node 24 from the npm registry into the cache.',
  },
  {
    id: 'PROV-02',
    title: 'Docker engine is running',
    phase: 'provision',
    severity: 'blocker',
    source: 'Prerequisites: Docker installed',
    requires: [],
    remediation:
      'Install Docker (`apt-get install docker.io`) and start it (`systemctl start docker`, or `dockerd &` without systemd); ' +
      'check `docker info`. The suite starts dockerd itself when it is installed but not running.',
  },
  {
    id: 'PROV-03',
    title: 'SPIRE server and agent binaries are available at the pinned version',
    phase: 'provision',
    severity: 'blocker',
    source: 'Prerequisites: SPIRE Server and Agent installed',
    requires: [],
    remediation:
      'Place spire-server and spire-agent in /opt/spire/bin (or set artifacts.spireServer / artifacts.spireAgent), or let ' +
      'the suite download the release (online) or build it from the Go module proxy (offline, Go installed). The ' +
      'provisioning log under the cache names every source tried.',
  },
  {
    id: 'PROV-04',
    title: 'Workload base image is available',
    phase: 'provision',
    severity: 'critical',
    source: 'Step 2: Build the Docker Image',
    requires: ['PROV-02'],
    remediation:
      'Online hosts pull node:24-bookworm-slim. Offline hosts need debootstrap and Debian mirror access; see the provisioning log.',
  },

  // SPIRE: seed Step 1 and "Pre-Deployment Verification".
  {
    id: 'SPIRE-01',
    title: 'SPIRE Server is running',
    phase: 'spire',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Step 1',
    requires: ['PROV-03'],
    remediation: SPIRE_NOT_RUNNING,
  },
  {
    id: 'SPIRE-02',
    title: 'SPIRE Server reports healthy',
    phase: 'spire',
    severity: 'critical',
    source: 'Testing and Verification: Pre-Deployment Verification',
    requires: ['SPIRE-01'],
    remediation: `\`spire-server healthcheck -socketPath <server socket>\` must print "Server is healthy.". ${SPIRE_NOT_RUNNING}`,
  },
  {
    id: 'SPIRE-03',
    title: 'SPIRE Agent is running and socket exists',
    phase: 'spire',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Step 1',
    requires: ['SPIRE-02'],
    remediation: SOCKET_REMEDIATION,
  },
  {
    id: 'SPIRE-04',
    title: 'SPIRE Agent reports healthy',
    phase: 'spire',
    severity: 'critical',
    source: 'Testing and Verification: Pre-Deployment Verification',
    requires: ['SPIRE-03'],
    remediation: `\`spire-agent healthcheck -socketPath <agent socket>\` must print "Agent is healthy.". ${SOCKET_REMEDIATION}`,
  },
  {
    id: 'SPIRE-05',
    title: 'SPIRE Agent socket permissions let workloads connect (srwxrwxrwx)',
    phase: 'spire',
    severity: 'critical',
    source: 'Testing and Verification: Pre-Deployment Verification (expected srwxrwxrwx)',
    requires: ['SPIRE-03'],
    remediation: SOCKET_REMEDIATION,
  },
  {
    id: 'SPIRE-06',
    title: 'SPIRE Agent is attested by the server',
    phase: 'spire',
    severity: 'critical',
    source: 'Step 7: Parent ID spiffe://example.org/spire/agent/...',
    requires: ['SPIRE-04'],
    remediation:
      'The agent must appear in `spire-server agent list`. Check the agent log for node attestation errors; with ' +
      'join_token attestation generate a fresh token (`spire-server token generate`) and restart the agent with it.',
  },

  // Registration: seed Step 4 (run_k8s_demo.sh step 3) and Testing step 7.
  {
    id: 'REG-01',
    title: 'Workload registered',
    phase: 'registration',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ Workload registered',
    requires: ['SPIRE-06'],
    remediation:
      'Register the workload: `spire-server entry create -spiffeID spiffe://example.org/k8s-workload -parentID <agent ID> ' +
      '-selector docker:label:io.kubernetes.container.name:mtls-app -selector docker:label:io.kubernetes.pod.namespace:default`. ' +
      'A conflicting entry (same selectors, other SPIFFE ID) must be removed first.',
  },
  {
    id: 'REG-02',
    title: 'SPIRE registration exists for k8s-workload',
    phase: 'registration',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 7',
    requires: ['REG-01'],
    remediation: `\`spire-server entry show -spiffeID <workload ID>\` must list the entry with the expected selectors. ${SVID_FETCH_REMEDIATION}`,
  },

  // Docker: the seed's working Docker demonstration, which Phase 3 migrates to Kubernetes.
  {
    id: 'DOCKER-01',
    title: 'Docker image built (mtls-demo-image:latest)',
    phase: 'docker',
    severity: 'blocker',
    source: 'Step 2: Build the Docker Image',
    requires: ['PROV-04'],
    remediation:
      'Build the image: `docker build -t mtls-demo-image:latest workload/`; check the build log attached to this control.',
  },
  {
    id: 'DOCKER-02',
    title: 'Workload container fetched its SVID (✅ Successfully fetched SVIDs!)',
    phase: 'docker',
    severity: 'blocker',
    source: 'Testing step 2: ✅ Successfully fetched SVIDs!',
    requires: ['DOCKER-01', 'REG-01', 'SPIRE-05'],
    remediation: SVID_FETCH_REMEDIATION,
  },
  {
    id: 'DOCKER-03',
    title: 'Certificate files exist in /app directory (svid.0.pem, svid.0.key 0600, bundle.0.pem)',
    phase: 'docker',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 4',
    requires: ['DOCKER-02'],
    remediation: `The workload writes the files after a successful fetch; check its log. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-04',
    title: 'X.509-SVID conforms to the SPIFFE X509-SVID specification',
    phase: 'docker',
    severity: 'critical',
    source: 'Testing step 4: View certificate details',
    requires: ['DOCKER-03'],
    remediation:
      'The attached findings table names each broken rule. SPIRE issues conforming SVIDs; a failure points at a ' +
      'modified CA / credential template or at files not written by SPIRE.',
  },
  {
    id: 'DOCKER-05',
    title: 'Workload received the configured SPIFFE ID (spiffe://example.org/k8s-workload)',
    phase: 'docker',
    severity: 'critical',
    source: 'Testing step 6: SPIFFE ID: spiffe://example.org/k8s-workload',
    requires: ['DOCKER-02'],
    remediation: `Another entry matched the workload's selectors. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-06',
    title: 'mTLS server started ([Server] Secure mTLS Server listening on 0.0.0.0:9999)',
    phase: 'docker',
    severity: 'critical',
    source: 'Complete Testing Checklist: Pod logs show mTLS server started',
    requires: ['DOCKER-02'],
    remediation:
      'Check the workload log for the line after the SVID fetch; the port must be free inside the container.',
  },
  {
    id: 'DOCKER-07',
    title: 'Manual client test succeeds (Server Replied: Secure Hello from SPIRE Server!)',
    phase: 'docker',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 6',
    requires: ['DOCKER-06'],
    remediation: `The client container must get an SVID too and reach the server. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-08',
    title: "Both client and server verified each other's identity",
    phase: 'docker',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Testing step 2',
    requires: ['DOCKER-07'],
    remediation:
      'Both sides must present SVIDs chaining to the trust bundle and carry authorized SPIFFE IDs; see the client and ' +
      'server logs attached.',
  },
  {
    id: 'DOCKER-09',
    title: 'Workload SVID matches the official `spire-agent api fetch x509 -write` output',
    phase: 'docker',
    severity: 'normal',
    source: 'Step 4 Expected Output: ✅ Successfully ran fetch command',
    requires: ['DOCKER-03'],
    remediation:
      'The workload and the SPIRE CLI must see the same SPIFFE ID and trust bundle for the same selectors; a mismatch ' +
      'means the workload read a stale or foreign bundle.',
  },
  {
    id: 'NEG-01',
    title: 'A container without the registered labels gets no SVID (PermissionDenied)',
    phase: 'docker',
    severity: 'critical',
    source: 'Security Considerations: identities only for registered workloads',
    requires: ['DOCKER-02'],
    remediation:
      'An unregistered workload received an identity: look for an entry with overly broad selectors ' +
      '(`spire-server entry show`) and remove it.',
  },
  {
    id: 'NEG-02',
    title: 'A client whose SPIFFE ID is not authorized is refused by the server',
    phase: 'docker',
    severity: 'critical',
    source: 'Security Considerations: mTLS demo enforces mutual certificate verification',
    requires: ['DOCKER-06'],
    remediation:
      "The server must authorize the client's SPIFFE ID (allow-list or trust domain), not only verify its chain; check " +
      'the workload server flags (--allow-id).',
  },
];

export const CONTROLS: readonly Control[] = catalogue;

const byId = new Map(catalogue.map((control) => [control.id, control]));

export function getControl(id: string): Control {
  const control = byId.get(id);
  if (!control) throw new Error(`Unknown control id "${id}": add it to lib/controls.ts`);
  return control;
}

export function controlsOfPhase(phase: PhaseKey): Control[] {
  return catalogue.filter((control) => control.phase === phase);
}
