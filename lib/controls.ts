// The checklist catalogue: every control the suite asserts, in one place. The phases in suites/ reference controls
// by id; the reports read the same list, so a control that no phase ran still shows up (as not run).
// Titles keep the wording of the Phase 3 seed (its "Complete Testing Checklist", the "Expected Output" lines of its
// set-up and demo steps, and its "Testing and Verification" checks); remediations come from its troubleshooting guide.
import type { SeverityLevel } from './severity.ts';

export interface Phase {
  /** Matches the suite file name prefix, e.g. '20' for suites/20-spire.test.ts. */
  order: string;
  name: string;
}

export const PHASES = {
  provision: { order: '00', name: 'Provisioning' },
  host: { order: '10', name: 'Host preparation' },
  cluster: { order: '12', name: 'Kubernetes cluster' },
  cni: { order: '14', name: 'Flannel CNI' },
  spire: { order: '20', name: 'SPIRE server and agent' },
  registration: { order: '30', name: 'Workload registration' },
  docker: { order: '40', name: 'Docker workload identity' },
  image: { order: '50', name: 'Workload image in the cluster' },
  k8sRegistration: { order: '55', name: 'Kubernetes workload registration' },
  deploy: { order: '60', name: 'Deployment' },
  pod: { order: '70', name: 'In-pod identity and mTLS' },
  mesh: { order: '80', name: 'Pod-to-pod mTLS' },
  rotation: { order: '90', name: 'SVID rotation' },
  resilience: { order: '95', name: 'Resilience' },
} as const satisfies Record<string, Phase>;

export type PhaseKey = keyof typeof PHASES;

/**
 * The named situations in which a control may be not applicable *by design* — one of the four reasons a control may
 * end without being judged (the others: a provider's equivalent check judged it instead, the user waived it, the user
 * did not select its phase). A control lists the situations that apply to it in `notApplicableWhen`, with the reason
 * the report prints; a provider or a control body that names a situation the control does not list, or names none,
 * leaves the control BLOCKED (not judged), never silently not applicable.
 */
export const SITUATIONS = {
  'cluster-not-ours':
    'the cluster was created elsewhere (provider existing): the suite neither prepares its nodes nor starts it',
  'spire-not-ours': "the SPIRE server or agent is the user's (not started by this suite or by a KEEP run of it)",
  'entry-not-ours': "the workload's registration entry is the user's (not created by this suite)",
} as const;

export type Situation = keyof typeof SITUATIONS;

/**
 * What one control hands to later ones (the harness keeps them; fixtures/run-context.ts gives each its type). A control
 * declares what it `provides` and what it `needs`; one whose need was not provided is not run (blocked).
 */
export const HANDLES = [
  'dockerEngine',
  'spireBinaries',
  'spireServer',
  'spireAgent',
  'agentId',
  'baseImage',
  'workloadEntryId',
  'workloadImage',
  'dockerServer',
  'clientRun',
  'k8sEntryId',
  'pod',
  'podClient',
  'clientPod',
  'rotatedSerial',
] as const;

export type HandleName = (typeof HANDLES)[number];

export interface Control {
  id: string;
  title: string;
  phase: PhaseKey;
  severity: SeverityLevel;
  /** Where the control comes from in the seed. */
  source: string;
  /**
   * Controls that must not have failed for this one to be meaningful. A prerequisite that FAILed (or was itself blocked
   * or not run) blocks this one; one that only WARNed, or that the cluster provider does not own, does not.
   */
  requires: string[];
  /** Handles this control reads; when one was not provided, it is blocked (it truly cannot run). */
  needs?: HandleName[];
  /** Handles this control hands on; it fails when it passed without providing one of them. */
  provides?: HandleName[];
  /**
   * The cluster provider may not own this control (host preparation and cluster creation on an existing cluster):
   * then it is not applicable, and it counts as satisfied for the controls that require it.
   */
  providerOwned?: boolean;
  /** The named situations (SITUATIONS) in which it is not applicable by design, each with the reason the report prints. */
  notApplicableWhen?: Partial<Record<Situation, string>>;
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
const SERVED_SVID_REMEDIATION =
  'The server must serve the SVID the SPIRE Agent gave it: the chain it presents must be the one of svid.0.pem and ' +
  'chain to the trust bundle of the SPIRE Server. A stale or foreign certificate means the workload loaded another ' +
  'certificate or did not apply a rotation to its TLS context; check the [SVID Rotation] lines of its log and restart ' +
  `the workload. ${SVID_FETCH_REMEDIATION}`;

const NODE_NOT_READY =
  'Issue 1 "Node Status Shows NotReady": verify CNI plugins are installed in /opt/cni/bin; ensure the Flannel ' +
  'configuration exists in /etc/cni/net.d; check the Flannel pods are running (kube-flannel namespace); restart the ' +
  'kubelet; re-run the set-up if the CNI installation failed. The kubelet log is attached.';
const POD_PENDING =
  'Issue 4 "Pod Stuck in Pending or ContainerCreating": ensure the image is loaded into the node runtime; verify the ' +
  'node is Ready; check pod events for resource, scheduling or volume problems (the socket directory and the agent ' +
  'binary must exist on the host); delete and re-apply the deployment.';
const MINIKUBE_START =
  'Issue 6 "Minikube Fails to Start": clean up (`minikube delete --all --purge`, remove ~/.minikube and ' +
  '/etc/kubernetes); ensure at least 10 GB free disk; verify Docker is running; check `sysctl fs.protected_regular`; ' +
  're-run the set-up. For the local cluster, the component logs under reports/logs/cluster/ name the failing step.';

/** Host preparation on a cluster created elsewhere: its nodes were prepared by whoever runs it. */
const NODES_NOT_OURS =
  'the suite prepares only the host of a cluster it starts; a cluster created elsewhere had its nodes prepared by ' +
  'whoever runs it, and what that preparation must achieve is judged on the live cluster (CLUSTER-03, CNI-*, node Ready)';

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
    provides: ['dockerEngine'],
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
    provides: ['spireBinaries'],
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
    provides: ['baseImage'],
    remediation:
      'Online hosts pull node:24-bookworm-slim. Offline hosts need debootstrap and Debian mirror access; see the provisioning log.',
  },

  // Host preparation: the seed's complete_k8s_setup.sh, as checks that fix what they may.
  {
    id: 'HOST-01',
    title: 'Running as root',
    phase: 'host',
    severity: 'blocker',
    source: 'Security Considerations: Sudo Requirements',
    requires: [],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: 'Run the suite with sudo: the none-driver cluster, the kernel settings and SPIRE need root.',
  },
  {
    id: 'HOST-02',
    title: 'Kernel features br_netfilter, overlay, vxlan available',
    phase: 'host',
    severity: 'blocker',
    source: 'Step 3: Applies Ubuntu 22.04 kernel security fixes',
    requires: ['HOST-01'],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: 'Load the modules (`modprobe br_netfilter overlay vxlan`) or use a kernel that has them.',
  },
  {
    id: 'HOST-03',
    title: 'Kernel fixes applied (net.bridge.bridge-nf-call-iptables=1, net.ipv4.ip_forward=1, fs.protected_regular=0)',
    phase: 'host',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ Kernel fixes applied',
    requires: ['HOST-02'],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: `Set the sysctls (\`sysctl -w net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1 fs.protected_regular=0\`). ${MINIKUBE_START}`,
  },
  {
    id: 'HOST-04',
    title: 'Swap state known (kubelet failSwapOn: false)',
    phase: 'host',
    severity: 'minor',
    source: 'Step 3: prerequisites',
    requires: ['HOST-01'],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: 'Disable swap (`swapoff -a`) or keep the kubelet setting failSwapOn: false.',
  },
  {
    id: 'HOST-05',
    title: 'Prerequisites installed (conntrack, socat, iptables)',
    phase: 'host',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ Prerequisites installed',
    requires: ['HOST-01'],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: 'Install them: `apt-get install -y conntrack socat iptables`.',
  },
  {
    id: 'HOST-06',
    title: 'At least 10 GiB free disk space',
    phase: 'host',
    severity: 'critical',
    source: 'Troubleshooting Issue 6: Ensure sufficient disk space (at least 10GB free)',
    requires: [],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation: 'Free disk space (`df -h`): images, the module cache and container layers need room.',
  },
  {
    id: 'HOST-07',
    title: 'Required ports free',
    phase: 'host',
    severity: 'critical',
    source: 'Troubleshooting Issue 6: Check for conflicting processes',
    requires: [],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation:
      'Stop the process holding the port (`ss -ltnp`); `pgrep -a kubelet`, `pgrep -a dockerd` find conflicting clusters.',
  },

  {
    id: 'HOST-08',
    title: "cgroup version and Docker's driver recorded, in agreement with the host",
    phase: 'host',
    severity: 'critical',
    source: 'Step 3: the Ubuntu 22.04 host (cgroup v2, systemd); Troubleshooting Issue 5: SVID Fetch Fails',
    requires: [],
    providerOwned: true,
    notApplicableWhen: { 'cluster-not-ours': NODES_NOT_OURS },
    remediation:
      "The SPIRE agent finds a workload's container from its cgroup, so the layout must be the one the suite configured: " +
      'compare `grep cgroup /proc/self/mountinfo`, `cat /proc/1/comm` and `docker info --format ' +
      "'{{.CgroupDriver}} {{.CgroupVersion}}'`. Docker's cgroup version must be the kernel's, and its driver systemd " +
      "only where systemd is PID 1. The kubelet's and containerd's drivers are judged on the running cluster (CLUSTER-10).",
  },

  // Cluster: the seed's Step 3 (complete_k8s_setup.sh) on the selected provider.
  {
    id: 'CLUSTER-01',
    title: 'Cleanup completed (no earlier cluster in the way)',
    phase: 'cluster',
    severity: 'critical',
    source: 'Step 3 Expected Output: ✅ Cleanup completed',
    requires: ['HOST-01'],
    providerOwned: true,
    notApplicableWhen: {
      'cluster-not-ours':
        'the suite starts no cluster on a cluster created elsewhere, so no earlier cluster of its own can be in the way',
    },
    remediation: MINIKUBE_START,
  },
  {
    id: 'CLUSTER-02',
    title: 'CNI plugins installed',
    phase: 'cluster',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ CNI plugins installed',
    requires: ['HOST-05'],
    providerOwned: true,
    remediation:
      'Issue 2 "CNI Plugin Download Fails": check `ls -la /opt/cni/bin/`; download the plugins again and verify the ' +
      'archive (`gzip -t`); extract them to /opt/cni/bin manually if it persists.',
  },
  {
    id: 'CLUSTER-03',
    title: 'Cluster started (control plane ready)',
    phase: 'cluster',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ Minikube started',
    requires: ['HOST-03', 'CLUSTER-02'],
    remediation: MINIKUBE_START,
  },
  {
    id: 'CLUSTER-04',
    title: 'Permissions fixed (kubeconfig usable by kubectl and the client library)',
    phase: 'cluster',
    severity: 'critical',
    source: 'Step 3 Expected Output: ✅ Permissions fixed',
    requires: ['CLUSTER-03'],
    remediation:
      'Issue 7 "Permission Denied Errors with kubectl": fix ownership (`chown -R $USER ~/.kube`), `chmod 600 ~/.kube/config`, ' +
      'check KUBECONFIG.',
  },
  // Cluster hardening (issue 11): the local cluster the suite configures itself. Providers that do not configure their
  // control plane (minikube's kubeadm, an existing cluster) do not own these.
  {
    id: 'CLUSTER-05',
    title: 'etcd serves clients only over TLS with client-certificate authentication, on loopback',
    phase: 'cluster',
    severity: 'critical',
    source: 'Security Considerations (issue 11: hardened local cluster); Step 3: Minikube started',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    remediation:
      'Start etcd with --listen-client-urls=https://127.0.0.1:2379, --cert-file/--key-file, --trusted-ca-file (a CA ' +
      'of its own, so no cluster client certificate opens it) and --client-cert-auth=true, its peer URL likewise ' +
      '(--peer-cert-file, --peer-trusted-ca-file, --peer-client-cert-auth=true), and the apiserver with --etcd-cafile, ' +
      '--etcd-certfile and --etcd-keyfile; the etcd log is reports/logs/cluster/etcd.log. ' +
      MINIKUBE_START,
  },
  {
    id: 'CLUSTER-06',
    title: 'API server bound to the node address with anonymous authentication off',
    phase: 'cluster',
    severity: 'critical',
    source: 'Security Considerations (issue 11: hardened local cluster); Step 3: Minikube started',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    remediation:
      'Start kube-apiserver with --bind-address=<node IP> (not 0.0.0.0) and --anonymous-auth=false, and point every ' +
      'kubeconfig at https://<node IP>:6443 (its serving certificate carries that IP). An unauthenticated request must ' +
      'get 401. Issue 7 "Permission Denied Errors with kubectl": a client that now fails uses a kubeconfig with ' +
      'another server or without a client certificate.',
  },
  {
    id: 'CLUSTER-07',
    title: 'Kubelet refuses anonymous requests and authorizes through the API server (webhook)',
    phase: 'cluster',
    severity: 'critical',
    source: 'Security Considerations (issue 11: hardened local cluster); Troubleshooting Issue 1: check kubelet',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    remediation:
      'In the KubeletConfiguration set authentication.anonymous.enabled: false, authentication.webhook.enabled: true, ' +
      'authentication.x509.clientCAFile: <cluster CA> and authorization.mode: Webhook (flags: --anonymous-auth=false ' +
      '--authorization-mode=Webhook --client-ca-file); an unauthenticated request to :10250 must get 401 and a user ' +
      'RBAC does not allow nodes/pods or nodes/proxy 403. The kubelet log is reports/logs/cluster/kubelet.log.',
  },
  {
    id: 'CLUSTER-08',
    title: 'Kubelet read-only port 10255 is closed',
    phase: 'cluster',
    severity: 'critical',
    source: 'Security Considerations (issue 11: the kubelet read-only port managed clusters removed)',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    remediation:
      'Set readOnlyPort: 0 in the KubeletConfiguration (or --read-only-port=0) and restart the kubelet: the read-only ' +
      "port serves the node's pods to anyone without authentication. SPIRE's k8s workload attestor does not need it: " +
      'give it kubelet_secure_port = 10250, kubelet_ca_path and a client certificate or token (see SPIRE-07).',
  },
  {
    id: 'CLUSTER-09',
    title: 'API server refuses privileged containers (--allow-privileged not granted; Flannel runs unprivileged)',
    phase: 'cluster',
    severity: 'critical',
    source: 'Security Considerations (issue 11: no --allow-privileged beyond what Flannel needs)',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    // Flannel's DaemonSet (manifests/kube-flannel.yaml) runs kube-flannel with privileged: false and only the
    // NET_ADMIN and NET_RAW capabilities, its init containers unprivileged; nothing else the suite deploys asks for a
    // privileged container, so nothing needs --allow-privileged=true.
    remediation:
      'Start kube-apiserver without --allow-privileged=true (the default, or --allow-privileged=false): Flannel ' +
      "(manifests/kube-flannel.yaml) runs unprivileged with NET_ADMIN and NET_RAW only, and the suite's workload " +
      'needs no privileged container. A server-side dry run of a privileged pod must be refused with "disallowed by ' +
      'cluster policy"; a pod that needs privileged must be redesigned (capabilities instead), not the flag restored.',
  },
  {
    id: 'CLUSTER-10',
    title: "The kubelet's and containerd's cgroup drivers, read from the running components, agree with the host",
    phase: 'cluster',
    severity: 'critical',
    source: 'Step 3: the Ubuntu 22.04 host (cgroup v2, systemd); Troubleshooting Issue 5: SVID Fetch Fails',
    requires: ['CLUSTER-03'],
    providerOwned: true,
    remediation:
      "The SPIRE agent's k8s attestor finds a pod's container from its cgroup, so the kubelet and containerd must use " +
      "the same driver, systemd only where systemd is PID 1: compare the kubelet's live configuration (`kubectl get " +
      "--raw /api/v1/nodes/<node>/proxy/configz`, cgroupDriver) with containerd's loaded one (`crictl info`, the runc " +
      "runtime's SystemdCgroup) and fix `cgroupDriver` in kubelet.yaml or `SystemdCgroup` in containerd.toml.",
  },

  // CNI: Flannel, then the node turns Ready.
  {
    id: 'CNI-01',
    title: 'Flannel applied',
    phase: 'cni',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ Flannel applied',
    requires: ['CLUSTER-04'],
    providerOwned: true,
    remediation:
      'Apply manifests/kube-flannel.yaml server-side and read each object back: it must exist with an Apply of field ' +
      'manager spire-k8s-validation in its managedFields (`kubectl -n kube-flannel get ds kube-flannel-ds -o yaml ' +
      '--show-managed-fields`); the attached applied.txt lists what the API holds. A webhook or another manager ' +
      `that removes or rewrites them must be stopped. ${NODE_NOT_READY}`,
  },
  {
    id: 'CNI-02',
    title: 'Flannel pod is Running',
    phase: 'cni',
    severity: 'blocker',
    source: 'Troubleshooting Issue 1: Check Flannel pods',
    requires: ['CNI-01'],
    remediation: NODE_NOT_READY,
  },
  {
    id: 'CNI-03',
    title: 'Flannel CNI configuration exists in /etc/cni/net.d',
    phase: 'cni',
    severity: 'critical',
    source: 'Troubleshooting Issue 1: Ensure Flannel configuration exists in /etc/cni/net.d',
    requires: ['CNI-02'],
    remediation: NODE_NOT_READY,
  },
  {
    id: 'CNI-04',
    title: 'Node is Ready',
    phase: 'cni',
    severity: 'blocker',
    source: 'Step 3 Expected Output: ✅ Node is Ready (waits up to 120 seconds)',
    requires: ['CNI-03'],
    remediation: NODE_NOT_READY,
  },

  // SPIRE: seed Step 1 and "Pre-Deployment Verification".
  {
    id: 'SPIRE-01',
    title: 'SPIRE Server is running',
    phase: 'spire',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Step 1',
    requires: ['PROV-03'],
    needs: ['spireBinaries'],
    provides: ['spireServer'],
    remediation: SPIRE_NOT_RUNNING,
  },
  {
    id: 'SPIRE-02',
    title: 'SPIRE Server reports healthy',
    phase: 'spire',
    severity: 'critical',
    source: 'Testing and Verification: Pre-Deployment Verification',
    requires: ['SPIRE-01'],
    needs: ['spireBinaries'],
    remediation: `\`spire-server healthcheck -socketPath <server socket>\` must print "Server is healthy.". ${SPIRE_NOT_RUNNING}`,
  },
  {
    id: 'SPIRE-03',
    title: 'SPIRE Agent is running and socket exists',
    phase: 'spire',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Step 1',
    requires: ['SPIRE-02'],
    needs: ['spireBinaries'],
    provides: ['spireAgent', 'agentId'],
    remediation: SOCKET_REMEDIATION,
  },
  {
    id: 'SPIRE-04',
    title: 'SPIRE Agent reports healthy',
    phase: 'spire',
    severity: 'critical',
    source: 'Testing and Verification: Pre-Deployment Verification',
    requires: ['SPIRE-03'],
    needs: ['spireBinaries'],
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
    needs: ['spireBinaries', 'spireAgent', 'agentId'],
    remediation:
      'The agent serving the socket must report its own SVID (Debug API on its admin socket: set admin_socket_path ' +
      'in its agent block, outside the socket directory) and appear in `spire-server agent list` with an unexpired ' +
      'SVID, as the parent ID of the entries; `spire-server agent show -spiffeID <parent>` must show an attestation ' +
      'type and the serial and expiry of the SVID the agent holds (<data_dir>/agent-data.json): a different one means ' +
      'the entries name an agent that is not the one serving this node. Check the agent log for node attestation ' +
      'errors; with join_token attestation generate a fresh token (`spire-server token generate`) and restart the ' +
      'agent with it.',
  },
  {
    id: 'SPIRE-07',
    title: "SPIRE Agent's k8s workload attestor verifies the kubelet (secure port 10250, kubelet CA)",
    phase: 'spire',
    severity: 'critical',
    source:
      'Troubleshooting Issue 5: Ensure SPIRE Agent can attest the workload (issue 11: verified kubelet attestation)',
    // It judges the agent against a running kubelet, and the agent's k8s attestor is configured from the cluster.
    requires: ['SPIRE-04', 'CLUSTER-03'],
    providerOwned: true,
    remediation:
      'The kubelet TLS settings: the kubelet must serve a certificate signed by a CA the agent trusts (tlsCertFile/' +
      'tlsPrivateKeyFile issued by the cluster CA, or serverTLSBootstrap: true with the CSR approved), with the node ' +
      'name in its SANs; the agent\'s WorkloadAttestor "k8s" must name kubelet_secure_port = 10250, kubelet_ca_path = ' +
      '<that CA> and a credential (certificate_path/private_key_path or token_path) RBAC allows `get nodes/pods`; ' +
      'never skip_kubelet_verification or kubelet_read_only_port. A wrong kubelet_ca_path makes every workload ' +
      'attestation fail ("x509: certificate signed by unknown authority" in the agent log). ' +
      SVID_FETCH_REMEDIATION,
  },

  {
    id: 'SPIRE-08',
    title: 'The running SPIRE matches the configuration (trust domain, server address, sockets, attestors)',
    phase: 'spire',
    severity: 'blocker',
    source:
      'Step 1: SPIRE server and agent for trust domain example.org (issue 20: a running SPIRE that disagrees with the ' +
      'configuration is named in the SPIRE phase)',
    requires: ['SPIRE-04'],
    needs: ['spireBinaries', 'spireServer', 'spireAgent'],
    remediation:
      'The SPIRE serving the configured sockets differs from the configuration in the fields named above (each with ' +
      'the value configured and the value the running server or agent has, and where that value was read). A SPIRE ' +
      'you run is never changed by the suite: change the configuration to match it (trustDomain / ' +
      'SPIRE_VALIDATION_TRUST_DOMAIN, spire.serverPort, spire.serverSocket, spire.agentSocket, attestation), or ' +
      'reconfigure and restart that SPIRE (join_token NodeAttestor, WorkloadAttestor "docker", and "k8s" for ' +
      'containerd nodes), or point the suite at other sockets where it starts its own. A SPIRE a KEEP run of the ' +
      'suite left is restarted with the new configuration by SPIRE-01 and SPIRE-03 (their logs say what differed); ' +
      'if it still differs, stop it (`npm run teardown`) and run again.',
  },

  // Registration: seed Step 4 (run_k8s_demo.sh step 3) and Testing step 7.
  {
    id: 'REG-01',
    title: 'Workload registered',
    phase: 'registration',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ Workload registered',
    requires: ['SPIRE-06', 'SPIRE-08'],
    needs: ['agentId'],
    provides: ['workloadEntryId'],
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
    needs: ['spireBinaries', 'agentId', 'workloadEntryId'],
    remediation: `\`spire-server entry show -spiffeID <workload ID>\` must list the entry with the expected selectors. ${SVID_FETCH_REMEDIATION}`,
  },

  // Docker: the seed's working Docker demonstration, which Phase 3 migrates to Kubernetes.
  {
    id: 'DOCKER-01',
    title: 'Docker image built from workload/ as it is now (mtls-demo-image:latest; reused when unchanged)',
    phase: 'docker',
    severity: 'blocker',
    source: 'Step 2: Build the Docker Image',
    requires: ['PROV-04'],
    needs: ['baseImage'],
    provides: ['workloadImage'],
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
    needs: ['workloadImage'],
    provides: ['dockerServer'],
    remediation: SVID_FETCH_REMEDIATION,
  },
  {
    id: 'DOCKER-03',
    title: 'Certificate files exist in /app directory (svid.0.pem, svid.0.key 0600, bundle.0.pem)',
    phase: 'docker',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 4',
    requires: ['DOCKER-02'],
    needs: ['dockerServer'],
    remediation:
      'A key readable by others (not 0600) is a workload defect: it must create svid.0.key with mode 0600. Missing ' +
      `files: the workload writes them after a successful fetch; check its log. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-04',
    title: 'X.509-SVID conforms to the SPIFFE X509-SVID specification',
    phase: 'docker',
    severity: 'critical',
    source: 'Testing step 4: View certificate details',
    requires: ['DOCKER-03'],
    needs: ['dockerServer', 'spireBinaries'],
    remediation:
      'The attached findings table names each broken rule. SPIRE issues conforming SVIDs; a failure points at a ' +
      'modified CA / credential template or at files not written by SPIRE. The bundle the workload wrote must be the ' +
      "server's (`spire-server bundle show`): a different one means the workload trusts a stale or foreign CA.",
  },
  {
    id: 'DOCKER-05',
    title: 'Workload received the configured SPIFFE ID (spiffe://example.org/k8s-workload)',
    phase: 'docker',
    severity: 'critical',
    source: 'Testing step 6: SPIFFE ID: spiffe://example.org/k8s-workload',
    requires: ['DOCKER-02'],
    needs: ['dockerServer'],
    remediation: `Another entry matched the workload's selectors. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-06',
    title: 'mTLS server started ([Server] Secure mTLS Server listening on 0.0.0.0:9999)',
    phase: 'docker',
    severity: 'critical',
    source: 'Complete Testing Checklist: Pod logs show mTLS server started',
    requires: ['DOCKER-02'],
    needs: ['dockerServer'],
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
    needs: ['dockerServer', 'workloadImage'],
    provides: ['clientRun'],
    remediation: `The client container must get an SVID too and reach the server. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DOCKER-08',
    title: "Both client and server verified each other's identity",
    phase: 'docker',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Testing step 2',
    requires: ['DOCKER-07'],
    needs: ['dockerServer', 'clientRun'],
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
    needs: ['spireBinaries', 'workloadImage', 'dockerServer'],
    remediation:
      'The workload and the SPIRE CLI must see the same SPIFFE ID and trust bundle for the same selectors; a mismatch ' +
      'means the workload read a stale or foreign bundle.',
  },
  {
    id: 'DOCKER-10',
    title:
      'mTLS server presents its SVID over TLS (the certificate of svid.0.pem, chaining to `spire-server bundle show`)',
    phase: 'docker',
    severity: 'critical',
    source: 'Testing step 4: View certificate details; Security Considerations: mutual certificate verification',
    requires: ['DOCKER-06', 'DOCKER-03'],
    needs: ['dockerServer', 'spireBinaries'],
    remediation: SERVED_SVID_REMEDIATION,
  },
  {
    id: 'NEG-01',
    title: 'A container without the registered labels gets no SVID (PermissionDenied)',
    phase: 'docker',
    severity: 'critical',
    source: 'Security Considerations: identities only for registered workloads',
    requires: ['DOCKER-02'],
    needs: ['workloadImage'],
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
    needs: ['agentId', 'workloadImage', 'dockerServer'],
    remediation:
      "The server must authorize the client's SPIFFE ID (allow-list or trust domain), not only verify its chain; check " +
      'the workload server flags (--allow-id).',
  },
  // The workload in Kubernetes: the seed's Step 4 (run_k8s_demo.sh) and its post-deployment testing.
  {
    id: 'IMAGE-01',
    title: 'Docker image loaded',
    phase: 'image',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ Docker image loaded',
    requires: ['DOCKER-01', 'CNI-04'],
    remediation: `Load the image into the node runtime (\`minikube image load mtls-demo-image:latest\`; for the local cluster \`docker save | ctr -n k8s.io images import -\`). ${POD_PENDING}`,
  },
  {
    id: 'K8SREG-01',
    title: 'Workload registered (Kubernetes selectors)',
    phase: 'k8sRegistration',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ Workload registered',
    requires: ['SPIRE-06', 'SPIRE-08', 'CNI-04'],
    needs: ['agentId'],
    provides: ['k8sEntryId'],
    remediation:
      'Register the workload with the selectors of the attestation mode: docker labels on Docker runtimes, or ' +
      "`k8s:ns:default`, `k8s:container-name:mtls-app`, `k8s:pod-label:app:mtls-demo` with the agent's k8s workload " +
      "attestor on containerd, parented to the agent that serves the workload's node (an entry under another agent " +
      'is not reused: the suite creates its own and names the stale one; delete it with `spire-server entry delete`). ' +
      'The suite changes or deletes only entries it created (hint "spire-k8s-validation"): an entry of yours with the ' +
      'same selectors and another TTL is yours to update, or set rotation.x509SvidTtlSeconds to its TTL.',
  },
  {
    id: 'K8SREG-02',
    title: 'SPIRE registration exists for k8s-workload (Kubernetes selectors shown by entry show)',
    phase: 'k8sRegistration',
    severity: 'critical',
    source: 'Testing step 7: Verify SPIRE Registration',
    requires: ['K8SREG-01'],
    needs: ['spireBinaries', 'agentId', 'k8sEntryId'],
    remediation: SVID_FETCH_REMEDIATION,
  },
  {
    id: 'DEPLOY-01',
    title: 'SPIRE socket found',
    phase: 'deploy',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ SPIRE socket found',
    requires: ['SPIRE-03'],
    remediation: SOCKET_REMEDIATION,
  },
  {
    id: 'DEPLOY-02',
    title: 'Deployment applied',
    phase: 'deploy',
    severity: 'blocker',
    source: 'Step 4 Expected Output: ✅ Deployment applied',
    requires: ['IMAGE-01', 'K8SREG-01', 'DEPLOY-01'],
    needs: ['spireBinaries'],
    remediation:
      'Apply manifests/mtls-app.yaml (and, on a cluster the suite owns, manifests/workload-admission.yaml) ' +
      'server-side and read each object back: it must exist with an Apply of field manager spire-k8s-validation in ' +
      'its managedFields (`kubectl get deploy mtls-app -o yaml --show-managed-fields`); the attached applied.txt ' +
      `lists what the API holds. ${POD_PENDING}`,
  },
  {
    id: 'DEPLOY-03',
    title: 'Pod is in Running state (1/1 Ready, 0 restarts)',
    phase: 'deploy',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Step 4 Expected Output: ✅ Pod is running',
    requires: ['DEPLOY-02'],
    provides: ['pod'],
    remediation: `${POD_PENDING} ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'DEPLOY-04',
    title: 'Demo script completed successfully',
    phase: 'deploy',
    severity: 'critical',
    source: 'Complete Testing Checklist',
    requires: ['DEPLOY-03'],
    needs: ['pod'],
    remediation:
      'The demo deploys the mTLS server behind the Service mtls-app: its EndpointSlice must list the pod (IP, mTLS ' +
      'port) as ready. Check `kubectl get endpointslices -l kubernetes.io/service-name=mtls-app -o yaml`, that the ' +
      "Service's selector matches the pod's labels, that kube-controller-manager is running, and the pod's readiness.",
  },
  {
    id: 'DEPLOY-05',
    title:
      'Pod admission enforces least privilege in the workload namespace (privileged pod and writable hostPath refused)',
    phase: 'deploy',
    severity: 'critical',
    source:
      'Security Considerations: least privilege, Read-Only Mounts; Step 4: the deployment (hostPath socket mount)',
    requires: ['DEPLOY-02'],
    remediation:
      "Pod Security Admission's baseline and restricted levels both forbid hostPath, so no level but privileged admits " +
      'the agent socket: label the namespace pod-security.kubernetes.io/warn=restricted and audit=restricted and bind a ' +
      'ValidatingAdmissionPolicy to it that enforces restricted except a read-only hostPath of the agent socket ' +
      'directory (manifests/workload-admission.yaml; ValidatingAdmissionPolicy is GA since Kubernetes 1.30). The ' +
      'attached admission.txt shows what the apiserver answered to each probe pod, and refusal-layers.txt which layer ' +
      'refused it (--allow-privileged=false, a ValidatingAdmissionPolicy, Pod Security or a webhook; a refusal that ' +
      'names none, such as an invalid spec, does not count). On an existing cluster the suite installs nothing: the ' +
      "cluster's own admission must refuse these pods.",
  },
  {
    id: 'POD-01',
    title: 'Pod logs show successful SVID fetch',
    phase: 'pod',
    severity: 'critical',
    source: 'Complete Testing Checklist; Step 4 pod logs: [SVID Fetch] Calling SPIRE Agent API...',
    requires: ['DEPLOY-03'],
    needs: ['pod'],
    remediation: SVID_FETCH_REMEDIATION,
  },
  {
    id: 'POD-02',
    title: 'Pod logs show mTLS server started',
    phase: 'pod',
    severity: 'critical',
    source: 'Complete Testing Checklist; Step 4 pod logs: [Server] Secure mTLS Server listening on 9999',
    requires: ['DEPLOY-03'],
    needs: ['pod'],
    remediation: 'The server starts after the SVID fetch; check the pod log for the line after it.',
  },
  {
    id: 'POD-03',
    title: 'Can exec into the pod',
    phase: 'pod',
    severity: 'normal',
    source: 'Complete Testing Checklist; Testing step 3',
    requires: ['DEPLOY-03'],
    needs: ['pod'],
    remediation:
      "A 403 means RBAC or an admission policy denies pods/exec to the suite's credentials: grant `create` on " +
      'pods/exec in the namespace, or exempt it from the policy. Otherwise the apiserver must reach the kubelet ' +
      '(kubelet API port 10250) with a client certificate bound to system:kubelet-api-admin; see "kubectl ' +
      'Permission Issues".',
  },
  {
    id: 'POD-04',
    title: 'Certificate files exist in /app directory (svid.0.pem, svid.0.key 0600, bundle.0.pem)',
    phase: 'pod',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 4',
    requires: ['POD-03'],
    needs: ['pod'],
    remediation:
      'A key readable by others (not 0600) is a workload defect: it must create svid.0.key with mode 0600 and write it ' +
      `atomically (Security Considerations: private keys). Missing files: the workload writes them after a successful fetch. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'POD-05',
    title: 'X.509-SVID read from the pod conforms to the SPIFFE X509-SVID specification',
    phase: 'pod',
    severity: 'critical',
    source: 'Testing step 4: View certificate details',
    requires: ['POD-04'],
    needs: ['pod', 'spireBinaries'],
    remediation:
      "The attached findings table names each broken rule. The bundle the workload wrote must be the server's " +
      '(`spire-server bundle show`): a different one means the workload trusts a stale or foreign CA; restart the pod.',
  },
  {
    id: 'POD-06',
    title: 'SPIRE Agent socket is mounted in the pod',
    phase: 'pod',
    severity: 'critical',
    source: 'Testing step 5: Verify the socket is mounted',
    requires: ['POD-03'],
    needs: ['pod'],
    remediation: SOCKET_REMEDIATION,
  },
  {
    id: 'POD-07',
    title: 'SPIRE Agent binary is mounted read-only in the pod',
    phase: 'pod',
    severity: 'minor',
    source: 'Testing step 5: Verify SPIRE Agent Binary Mount; Security Considerations: Read-Only Mounts',
    requires: ['POD-03'],
    needs: ['pod'],
    remediation: 'Check the hostPath of the agent binary in manifests/mtls-app.yaml and that it exists on the host.',
  },
  {
    id: 'POD-08',
    title: 'Manual client test succeeds (in the pod)',
    phase: 'pod',
    severity: 'critical',
    source: 'Complete Testing Checklist; Testing step 6',
    requires: ['POD-03', 'POD-02'],
    needs: ['pod'],
    provides: ['podClient'],
    remediation: `Run the client in the pod and read its output. ${SVID_FETCH_REMEDIATION}`,
  },
  {
    id: 'POD-09',
    title: "Both client and server verified each other's identity (pod logs)",
    phase: 'pod',
    severity: 'blocker',
    source: 'Complete Testing Checklist; Testing step 2',
    requires: ['POD-08'],
    needs: ['pod', 'podClient'],
    remediation: 'Both sides must present SVIDs that chain to the trust bundle and carry authorized SPIFFE IDs.',
  },
  {
    id: 'POD-10',
    title: 'Pod IP is inside the Flannel network 10.244.0.0/16',
    phase: 'pod',
    severity: 'normal',
    source: 'Component Interaction Flow: CNI Setup (10.244.0.0/16)',
    requires: ['DEPLOY-03'],
    needs: ['pod'],
    remediation: NODE_NOT_READY,
  },
  {
    id: 'POD-11',
    title:
      'mTLS server in the pod presents its SVID over TLS (the certificate of svid.0.pem, chaining to `spire-server bundle show`)',
    phase: 'pod',
    severity: 'critical',
    source: 'Testing step 4: View certificate details; Security Considerations: mutual certificate verification',
    requires: ['POD-02', 'POD-04'],
    needs: ['pod', 'spireBinaries'],
    remediation: SERVED_SVID_REMEDIATION,
  },
  {
    id: 'POD-12',
    title:
      'Pod runs with least privilege (non-root, read-only root, no privilege escalation, no capabilities, seccomp RuntimeDefault, no service-account token, socket directory read-only)',
    phase: 'pod',
    severity: 'critical',
    source: 'Security Considerations: least privilege, Read-Only Mounts (hostPath socket mount)',
    requires: ['POD-03'],
    needs: ['pod', 'spireBinaries'],
    remediation:
      'Set in the pod template (manifests/mtls-app.yaml): automountServiceAccountToken: false; securityContext ' +
      'runAsNonRoot: true, a non-zero runAsUser/runAsGroup, seccompProfile RuntimeDefault; in the container ' +
      'readOnlyRootFilesystem: true with /app an emptyDir, allowPrivilegeEscalation: false, capabilities drop [ALL]; ' +
      'mount the agent socket directory (and the agent binary) readOnly and nothing else from the host. The attached ' +
      'evidence shows the pod as the apiserver holds it and what the kernel applies inside the container ' +
      '(/proc/1/status, /proc/self/mountinfo).',
  },
  {
    id: 'MESH-01',
    title: 'Pod-to-pod mTLS through a Service: both identities verified',
    phase: 'mesh',
    severity: 'critical',
    source: 'Next Steps 1: Multi-Pod Communication',
    requires: ['POD-09'],
    needs: ['agentId', 'pod'],
    provides: ['clientPod'],
    remediation:
      'The client pod needs its own registration and must reach the Service across the pod network (kube-proxy, ' +
      "Flannel); check both pods' logs attached.",
  },
  {
    id: 'MESH-02',
    title: 'A pod with another SPIFFE ID of the trust domain is refused by the server (not on its allow-list)',
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: mTLS demo enforces mutual certificate verification; Next Steps 1',
    requires: ['MESH-01'],
    needs: ['agentId', 'pod'],
    remediation:
      'The server must authorize an explicit allow-list of SPIFFE IDs (--allow-id), not every identity that chains to ' +
      'the bundle nor the whole trust domain; check the args of manifests/mtls-app.yaml and the server pod log attached.',
  },
  {
    id: 'MESH-03',
    title:
      "A pod in another namespace with the workload's labels and container name gets no SVID (PermissionDenied, agent log)",
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: identities only for registered workloads (namespace-scoped selectors)',
    requires: ['POD-01'],
    needs: ['pod', 'spireAgent'],
    remediation:
      "A pod outside the workload's namespace received an identity: an entry selects it without a namespace " +
      '(`k8s:ns:`) selector, or by pod name or labels any namespace can copy. List the entries ' +
      '(`spire-server entry show`), give every Kubernetes entry a `k8s:ns:<namespace>` selector and delete the broad ' +
      'ones. The stranger pod log and the agent\'s "No identity issued" lines are attached.',
  },
  {
    id: 'MESH-04',
    title: "A pod in the workload's namespace with other labels gets no SVID (PermissionDenied, agent log)",
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: identities only for registered workloads; Issue 5: selectors must match (labels)',
    requires: ['POD-01'],
    needs: ['pod', 'spireAgent'],
    remediation:
      "A pod without the workload's label received an identity: an entry selects it by namespace or container name " +
      "alone. Give the workload's entry its `k8s:pod-label:` selector (`spire-server entry show`) and delete entries " +
      'whose selectors any pod of the namespace matches. The stranger pod log and the agent log lines are attached.',
  },
  {
    id: 'MESH-05',
    title: 'The client refuses a server whose SPIFFE ID is not the expected one (no exchange)',
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: mTLS demo enforces mutual certificate verification',
    requires: ['MESH-01'],
    needs: ['pod'],
    remediation:
      "The client must check the server's SPIFFE ID (the URI SAN of its certificate) against the expected one " +
      "(--server-id) before it sends anything, not only that the chain leads to the bundle; check the client's " +
      'checkServerIdentity and the client pod log attached.',
  },
  {
    id: 'MESH-06',
    title: 'A client without a certificate is refused by the server (TLS handshake, no reply)',
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: mTLS demo enforces mutual certificate verification',
    requires: ['POD-02'],
    needs: ['pod'],
    remediation:
      'The server must require a client certificate (node:tls `requestCert: true` and `rejectUnauthorized: true`); a ' +
      'server that answers without one is plain TLS, not mutual TLS. Check the server and the server pod log attached.',
  },
  {
    id: 'MESH-07',
    title: "A client with a foreign CA's certificate carrying an allowed SPIFFE ID is refused by the server",
    phase: 'mesh',
    severity: 'critical',
    source: 'Security Considerations: mTLS demo enforces mutual certificate verification (chain to the trust bundle)',
    requires: ['POD-02'],
    needs: ['pod'],
    remediation:
      "The server must verify the client's chain against the trust bundle of the SPIRE Server (`ca` = bundle.0.pem, " +
      '`rejectUnauthorized: true`) before it reads the SPIFFE ID: a SPIFFE ID string proves nothing without its ' +
      'chain. Check the TLS options of the server and the server pod log attached.',
  },
  {
    id: 'ROT-01',
    title: 'SVID rotation: new certificate served to new connections without a restart',
    phase: 'rotation',
    severity: 'critical',
    source: 'Next Steps 2: SVID Rotation',
    requires: ['POD-09'],
    needs: ['pod'],
    provides: ['rotatedSerial'],
    remediation:
      'The workload must keep the Workload API stream open and swap its TLS context on each new SVID; check the ' +
      '[SVID Rotation] lines of the pod log.',
  },
  {
    id: 'ROT-02',
    title:
      'Pod-to-pod mTLS carries on through rotation: the client pod gets the new certificate, no failed exchange, no ' +
      'restarts',
    phase: 'rotation',
    severity: 'critical',
    source: 'Next Steps 1 and 2: Multi-Pod Communication, SVID Rotation',
    requires: ['MESH-01', 'ROT-01'],
    needs: ['pod', 'clientPod', 'rotatedSerial'],
    remediation:
      'The client must open each connection with its newest SVID and the server must keep its listener across the ' +
      "rotation: from the server's rotation on, every exchange must succeed (one failure fails the control). Check " +
      'the attached client-through-rotation.txt for the failed exchanges and their times, and the server pod log for ' +
      'its rotations.',
  },
  {
    id: 'RES-01',
    title:
      "The workload's registration entry is removed: the workload is told it has no identity; re-created, the identity " +
      'returns without a pod restart',
    phase: 'resilience',
    severity: 'critical',
    source: 'Troubleshooting Issue 5: SVID Fetch Fails in Pod (entry missing); Next Steps 2: SVID Rotation',
    requires: ['POD-09', 'K8SREG-02'],
    needs: ['pod', 'k8sEntryId', 'agentId'],
    notApplicableWhen: {
      'entry-not-ours': 'the suite never deletes a registration entry it did not create',
    },
    remediation:
      'The agent must end the Workload API stream with PermissionDenied when the entry goes, and the workload must keep ' +
      'retrying with backoff and take the new SVID when the entry returns; check `spire-server entry show`, the agent ' +
      'log (sync errors) and the [SVID] lines of the server pod log attached.',
  },
  {
    id: 'RES-02',
    title:
      'Sustained pod-to-pod traffic through three SVID rotations: every rotation served to new connections, no failures',
    phase: 'resilience',
    severity: 'critical',
    source: 'Next Steps 1 and 2: Multi-Pod Communication, SVID Rotation',
    requires: ['MESH-01', 'RES-01'],
    needs: ['pod', 'clientPod'],
    remediation:
      'Each rotation must swap the TLS context before the old SVID expires and keep the listener; a failed exchange ' +
      "around a rotation means a stale context or a peer bundle not updated: compare the client's serials with the " +
      "server's [SVID Rotation] lines attached.",
  },
  {
    id: 'RES-03',
    title:
      'SPIRE Agent restarted: the workload reconnects with backoff, the socket comes back, the pod is not restarted',
    phase: 'resilience',
    severity: 'critical',
    source: 'Troubleshooting Issue 3: Pod Cannot Access SPIRE Socket; Issue 5: SVID Fetch Fails in Pod',
    requires: ['MESH-01'],
    needs: ['pod', 'clientPod', 'spireAgent', 'spireBinaries'],
    notApplicableWhen: { 'spire-not-ours': 'the suite never restarts a SPIRE agent it did not start' },
    remediation:
      "Mount the socket *directory* (hostPath Directory), not the socket file, so a restarted agent's new socket is " +
      'seen in the pod; the workload must retry the Workload API with backoff instead of exiting; check the agent log ' +
      'and the server pod log attached.',
  },
  {
    id: 'RES-04',
    title: 'SPIRE Server restarted under traffic: no failed exchange, and a new SVID still arrives after the restart',
    phase: 'resilience',
    severity: 'critical',
    source: 'Step 1: Check SPIRE Server status; Next Steps 2: SVID Rotation',
    requires: ['MESH-01'],
    needs: ['pod', 'clientPod', 'spireServer', 'spireBinaries'],
    notApplicableWhen: { 'spire-not-ours': 'the suite never restarts a SPIRE server it did not start' },
    remediation:
      'Workloads keep their SVIDs while the server is down; after it returns, the agent must reconnect and renew: check ' +
      'the server log (datastore, CA keys kept in the data directory) and the agent log for sync errors.',
  },
  {
    id: 'RES-05',
    title: 'Workload pod deleted: the Deployment replaces it, the new pod gets its identity, pod-to-pod mTLS resumes',
    phase: 'resilience',
    severity: 'critical',
    source: 'Testing step 1: Check Pod Status; Next Steps 1: Multi-Pod Communication',
    requires: ['MESH-01'],
    needs: ['pod', 'clientPod'],
    remediation:
      "The replacement pod must be attested like the first (same namespace, labels, container name: the entry's " +
      "selectors) and the Service must route to it; check the new pod's events and log attached.",
  },
];

export const CONTROLS: readonly Control[] = catalogue;

const byId = new Map(catalogue.map((control) => [control.id, control]));

export function getControl(id: string): Control {
  const control = byId.get(id);
  if (!control) throw new Error(`Unknown control id "${id}": add it to lib/controls.ts`);
  return control;
}

/** The control that provides a handle (the catalogue's self-test keeps it exactly one). */
export function providerOf(handle: HandleName): Control | undefined {
  return catalogue.find((control) => control.provides?.includes(handle));
}

export function controlsOfPhase(phase: PhaseKey): Control[] {
  return catalogue.filter((control) => control.phase === phase);
}
