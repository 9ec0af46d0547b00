// The judge of how a SPIRE agent's k8s workload attestor reaches the kubelet, from the agent's own configuration text
// (HCL): the `WorkloadAttestor "k8s"` block's plugin_data settings, and what is wrong with them for a verified
// connection (secure port, the CA that signs the kubelet's serving certificate, a client credential).

/** The settings of `WorkloadAttestor "k8s" { plugin_data { … } }`, as written; undefined when there is no such block. */
export function k8sAttestorSettings(configText: string): Record<string, string> | undefined {
  const start = /WorkloadAttestor\s+"k8s"\s*\{/.exec(configText);
  if (!start) return undefined;
  // The block runs to its matching brace (strings in it hold no braces in the settings this reads).
  let depth = 0;
  let end = configText.length;
  for (let i = start.index + start[0].length - 1; i < configText.length; i += 1) {
    if (configText[i] === '{') depth += 1;
    else if (configText[i] === '}') {
      depth -= 1;
      if (depth === 0) {
        end = i;
        break;
      }
    }
  }
  const block = configText.slice(start.index, end);
  const settings: Record<string, string> = {};
  for (const match of block.matchAll(/^\s*([a-z_]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s#]+)/gm)) {
    const [, key = '', value = ''] = match;
    settings[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return settings;
}

/** What keeps these settings from a verified, authenticated connection to the kubelet's secure port (empty: none). */
export function kubeletVerificationProblems(
  settings: Record<string, string> | undefined,
  securePort = 10250,
): string[] {
  if (!settings) return ['the agent has no WorkloadAttestor "k8s" block'];
  const problems: string[] = [];
  if (settings.kubelet_read_only_port !== undefined && settings.kubelet_read_only_port !== '0')
    problems.push(
      `it uses the unauthenticated read-only port (kubelet_read_only_port = ${settings.kubelet_read_only_port})`,
    );
  if (settings.kubelet_secure_port !== String(securePort))
    problems.push(`kubelet_secure_port is ${settings.kubelet_secure_port ?? 'not set'}, not ${securePort}`);
  if (settings.skip_kubelet_verification === 'true')
    problems.push("skip_kubelet_verification = true: the kubelet's serving certificate is not verified");
  if (!settings.kubelet_ca_path) problems.push('kubelet_ca_path is not set');
  const certificate = settings.certificate_path && settings.private_key_path;
  if (!certificate && !settings.token_path)
    problems.push('no client credential (certificate_path/private_key_path or token_path)');
  return problems;
}
