// Binds lib/signing to k6: md5 and randomness from k6/crypto.
import crypto from 'k6/crypto';
import { createSigner, type Md5, type RandomBytes, type SignerDeps } from './index.ts';

export const md5: Md5 = (data) => crypto.md5(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, 'hex');
export const randomBytes: RandomBytes = (length) => new Uint8Array(crypto.randomBytes(length));

export function createK6Signer(options: Partial<SignerDeps> = {}) {
  return createSigner({ md5, randomBytes, ...options });
}
