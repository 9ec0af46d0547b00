// Kubernetes probes: GET /live answers 200 while the process runs; GET /ready answers 200 only when the workload
// can serve mTLS (an SVID is loaded and the TLS listener is up), 503 otherwise.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export function startHealthServer(host: string, port: number, isReady: () => boolean): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://health').pathname;
    const [status, body] =
      path === '/live'
        ? [200, 'live']
        : path === '/ready'
          ? isReady()
            ? [200, 'ready']
            : [503, 'not ready']
          : [404, 'not found'];
    response.writeHead(status, { 'content-type': 'text/plain' }).end(`${body}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function portOf(server: { address(): string | AddressInfo | null }): number {
  return (server.address() as AddressInfo).port;
}
