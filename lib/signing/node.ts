// Binds lib/signing to Node: md5 and randomness from node:crypto.
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { createSigner, type Md5, type RandomBytes, type SignerDeps } from './index.ts';

export const md5: Md5 = (data) => createHash('md5').update(data).digest('hex');
export const randomBytes: RandomBytes = (length) => new Uint8Array(nodeRandomBytes(length));

export function createNodeSigner(options: Partial<SignerDeps> = {}) {
  return createSigner({ md5, randomBytes, ...options });
}
