import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// lib/signing/index.ts must run unchanged in Node and in k6, so it may not import anything at run
// time: no node:*, no k6/*, no packages, not even a relative module.
const source = readFileSync(new URL('./index.ts', import.meta.url), 'utf8');

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('lib/signing/index.ts purity', () => {
  const code = stripComments(source);

  it('has no runtime import statements (type-only imports at most)', () => {
    const imports = code.match(/^\s*import\s[^;]*;/gm) ?? [];
    const runtime = imports.filter((s) => !/^\s*import\s+type\s/.test(s));
    expect(runtime).toEqual([]);
  });

  it('has no re-exports from other modules', () => {
    const reexports = (code.match(/^\s*export\s[^;]*\sfrom\s+['"][^'"]+['"]/gm) ?? []).filter(
      (s) => !/^\s*export\s+type\s/.test(s),
    );
    expect(reexports).toEqual([]);
  });

  it('has no dynamic import or require', () => {
    expect(code).not.toMatch(/\bimport\s*\(/);
    expect(code).not.toMatch(/\brequire\s*\(/);
  });

  it('names no node:, k6 or package specifier anywhere', () => {
    expect(code).not.toMatch(/['"](node:|k6\b|k6\/)/);
  });

  it('uses no Node or browser globals (Buffer, TextEncoder, crypto, process)', () => {
    expect(code).not.toMatch(/\b(Buffer|TextEncoder|TextDecoder|crypto|process|globalThis)\b/);
  });

  it('type-checks for k6 with no Node types and no DOM lib (lib/signing/tsconfig.k6.json)', () => {
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    const project = fileURLToPath(new URL('./tsconfig.k6.json', import.meta.url));
    expect(() => execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'pipe' })).not.toThrow();
  });
});

// k6 is not installed here (and must not be): stand in for k6/crypto to check the adapter's wiring.
vi.mock('k6/crypto', async () => {
  const { createHash, randomBytes } = await import('node:crypto');
  return {
    default: {
      md5: (data: ArrayBuffer | string, encoding: string) => {
        if (encoding !== 'hex') throw new Error('expected hex');
        return createHash('md5')
          .update(typeof data === 'string' ? Buffer.from(data) : Buffer.from(new Uint8Array(data)))
          .digest('hex');
      },
      randomBytes: (n: number) => {
        const b = randomBytes(n);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      },
    },
  };
});

describe('lib/signing/k6.ts adapter (k6/crypto stubbed)', () => {
  it('hashes exactly the bytes of a view into a larger buffer and signs V1', async () => {
    const { md5, createK6Signer } = await import('./k6.ts');
    const backing = new Uint8Array([1, 2, 0x61, 0x62, 0x63, 3]);
    expect(md5(backing.subarray(2, 5))).toBe('900150983cd24fb0d6963f7d28e17f72'); // md5("abc")
    const signer = createK6Signer();
    const signed = signer.sign({
      method: 'POST',
      target: '/v1/apk/upgrade',
      body: '{"apkKey":"isVZBUvkFhv6oHxk_X-D0Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}',
      accessKey: 'ak',
      secretKey: 'test-secret-DO-NOT-USE-0001',
      nonce: 'fc812cc0b9b51e8c',
      timestamp: '2025-02-17T02:34:55Z',
    });
    expect(signed.headers['X-Signature']).toBe('a3b35614fce8d1fcb915d6789ea41369');
    expect(signer.nonce()).toMatch(/^[0-9a-f]{32}$/);
  });
});
