// The Workload API sends certificate chains and bundles as ASN.1 DER certificates simply concatenated
// (`x509_svid`, `bundle`). Most parsers read the first certificate and silently ignore the rest, so we split
// them ourselves: every certificate is one ASN.1 SEQUENCE, tag 0x30 followed by its length.

const SEQUENCE = 0x30;

export class DerError extends Error {
  override name = 'DerError';
}

/** Splits concatenated DER certificates into one buffer per certificate. Empty input gives an empty list. */
export function splitDer(data: Uint8Array): Buffer[] {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const certificates: Buffer[] = [];
  let offset = 0;
  while (offset < input.length) {
    const { headerLength, contentLength } = readSequenceHeader(input, offset);
    const end = offset + headerLength + contentLength;
    if (end > input.length) {
      throw new DerError(
        `truncated DER: certificate #${certificates.length + 1} at byte ${offset} declares ` +
          `${headerLength + contentLength} bytes but only ${input.length - offset} remain`,
      );
    }
    certificates.push(Buffer.from(input.subarray(offset, end)));
    offset = end;
  }
  return certificates;
}

/** Reads the tag and length of the SEQUENCE that starts at `offset`. */
function readSequenceHeader(input: Buffer, offset: number): { headerLength: number; contentLength: number } {
  const at = `certificate at byte ${offset}`;
  if (input[offset] !== SEQUENCE) {
    throw new DerError(`not DER: ${at} starts with 0x${hex(input[offset])}, expected a SEQUENCE (0x30)`);
  }
  const first = input[offset + 1];
  if (first === undefined) throw new DerError(`truncated DER: ${at} ends before its length`);
  // Short form: lengths below 128 fit in the byte itself.
  if (first < 0x80) return { headerLength: 2, contentLength: first };
  // Long form: the low 7 bits say how many length bytes follow (big-endian). 0x80 would be BER's indefinite length.
  const count = first & 0x7f;
  if (count === 0) throw new DerError(`not DER: ${at} uses an indefinite length`);
  if (count > 4) throw new DerError(`not DER: ${at} has a ${count}-byte length, too large for a certificate`);
  if (offset + 2 + count > input.length) throw new DerError(`truncated DER: ${at} ends inside its length`);
  let contentLength = 0;
  for (let i = 0; i < count; i++) {
    contentLength = contentLength * 256 + (input[offset + 2 + i] ?? 0);
  }
  return { headerLength: 2 + count, contentLength };
}

function hex(byte: number | undefined): string {
  return (byte ?? 0).toString(16).padStart(2, '0');
}

/** Wraps DER in PEM armour, 64 base64 characters a line. */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** PEM of several certificates one after another: the form TLS options and `*.pem` files take. */
export function certificatesToPem(certificates: readonly { raw: Uint8Array }[]): string {
  return certificates.map((certificate) => derToPem(certificate.raw)).join('');
}
