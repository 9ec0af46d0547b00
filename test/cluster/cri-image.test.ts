// criImageStatus against an in-process CRI ImageService on a Unix socket: the request carries the reference asked
// for, an answer with an image is mapped field by field, an answer without one means "the runtime does not have it",
// and a failing runtime is a sentence naming the call, the socket and the gRPC status.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { criImageStatus } from '../../fixtures/cluster/cri-image.ts';

const PROTO_DIR = fileURLToPath(new URL('../../fixtures/proto/', import.meta.url));
const REF = 'docker.io/library/mtls-demo-image:latest';
const ID = `sha256:${'ab'.repeat(32)}`;

describe('CRI ImageStatus (the kubelet lookup IMAGE-01 repeats)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cri-image-test-'));
  const socket = join(dir, 'containerd.sock');
  const asked: string[] = [];
  const server = new grpc.Server();

  beforeAll(async () => {
    const definition = protoLoader.loadSync('cri-image.proto', { includeDirs: [PROTO_DIR], keepCase: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      runtime: { v1: { ImageService: grpc.ServiceClientConstructor } };
    };
    server.addService(loaded.runtime.v1.ImageService.service, {
      ImageStatus: (
        call: grpc.ServerUnaryCall<{ image: { image: string } }, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        const ref = call.request.image.image;
        asked.push(ref);
        if (ref === 'broken') callback({ code: grpc.status.UNAVAILABLE, details: 'runtime is shutting down' });
        else if (ref === REF)
          callback(null, { image: { id: ID, repo_tags: [REF], repo_digests: [], size: 287_000_000 } });
        else callback(null, {});
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  });

  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an image the runtime has: its id, tags and size, for the reference asked', async () => {
    expect(await criImageStatus(socket, REF)).toEqual({
      id: ID,
      repoTags: [REF],
      repoDigests: [],
      sizeBytes: 287_000_000,
    });
    expect(asked.at(-1), 'the request must carry the full reference').toBe(REF);
  });

  test('an answer without an image: the runtime does not have it', async () => {
    expect(await criImageStatus(socket, 'docker.io/library/absent:latest')).toBeUndefined();
  });

  test('a failing runtime: a sentence with the socket and the gRPC status', async () => {
    await expect(criImageStatus(socket, 'broken')).rejects.toThrow(
      `CRI ImageStatus of broken on ${socket}: UNAVAILABLE (runtime is shutting down)`,
    );
  });
});
