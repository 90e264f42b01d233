// A service's output, as both launchers keep it: written to its log file with the secret masked,
// the last few thousand characters kept for error messages, and optionally passed on as it comes.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { maskSecret } from '../lib/signing/index.ts';

export interface ServiceLog {
  /** Masks, writes and keeps a chunk of output; returns the masked text. */
  write(chunk: Buffer | string): string;
  /** The last 4000 characters, masked. */
  tail(): string;
  close(): void;
}

export function openServiceLog(file: string, secret?: string, onOutput?: (text: string) => void): ServiceLog {
  mkdirSync(path.dirname(file), { recursive: true });
  const log = createWriteStream(file);
  let tail = '';
  return {
    write(chunk) {
      const raw = chunk.toString();
      const text = secret ? maskSecret(raw, secret) : raw;
      log.write(text);
      tail = (tail + text).slice(-4000);
      onOutput?.(text);
      return text;
    },
    tail: () => tail,
    close: () => log.end(),
  };
}
