// The SPIRE agent's log lines about one pod's Workload API calls. The agent logs each refusal as
//   level=error msg="No identity issued" method=FetchX509SVID pid=… registered=false selectors="[type:\"k8s\"  value:\"ns:default\" …]"
// with every selector its attestors found for the caller: which namespace, labels and container it saw. A pod is
// recognised by its UID (the k8s attestor's pod-uid selector), which no other pod shares.

const SELECTOR = /type:\\"([^"\\]+)\\"\s+value:\\"([^"\\]*)\\"/g;

/** The agent's "No identity issued" lines for the pod with this UID, in log order. */
export function noIdentityIssuedLines(text: string, podUid: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.includes('msg="No identity issued"') && line.includes(`value:\\"pod-uid:${podUid}\\"`));
}

/** The selectors of an agent log line, as `type:value` (e.g. `k8s:ns:default`). */
export function selectorsOfLine(line: string): string[] {
  return [...line.matchAll(SELECTOR)].map((match) => `${match[1]}:${match[2]}`);
}
