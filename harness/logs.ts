// A service's output, as both launchers keep it: written to its log file with the secret masked,
// the last few thousand characters kept for error messages, and optionally passed on as it comes.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { maskSecret } from '../lib/signing/index.ts';

export interface ServiceLog {
  /** Masks, writes and keeps a chunk of output. */
  write(chunk: Buffer | string): void;
  /** The last 4000 characters, masked. */
  tail(): string;
  /** An error saying what failed, where the log is, and how the log ends. */
  failure(message: string): Error;
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
    },
    tail: () => tail,
    failure: (message) => new Error(`${message}; log ${file}\n${tail.slice(-1500)}`),
    close: () => log.end(),
  };
}
