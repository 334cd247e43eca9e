// Helpers shared by the distributed scheduler's tests: TLS material made with `selfsigned`.
import { generate } from 'selfsigned';

export interface Pki {
  ca: string;
  cert: string;
  key: string;
}

/** A CA and one certificate it signed, valid as server and client, for the given IPs and localhost. */
export async function makePki(ips: string[] = ['127.0.0.1']): Promise<Pki> {
  const ca = await generate([{ name: 'commonName', value: 'schedlab test CA' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { ca: ca.cert, cert: leaf.cert, key: leaf.private };
}
