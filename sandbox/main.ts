// CLI: npm run sandbox -- [--host H] [--port P] [--fixtures F] [--fault NAME]... [--window-seconds S]
//                         [--control-port N] [--spec PATH] [--list-faults [--json]]
// Prints exactly one line on stdout when ready: `sandbox listening on http://HOST:PORT`
// (+ ` control http://127.0.0.1:CPORT`). Exit 2 on bad configuration.

import { parseArgs } from 'node:util';
import { FixtureError } from './fixtures.ts';
import { FaultError, listFaults, listFaultsJson } from './faults.ts';
import { SpecError } from './operations.ts';
import { startSandbox } from './index.ts';

const USAGE = `usage: npm run sandbox -- [--host 127.0.0.1] [--port 8787] [--fixtures fixtures/sandbox.json]
       [--fault NAME]... [--window-seconds 300] [--control-port N] [--spec generated/openapi.json] [--list-faults [--json]]
env:   SANDBOX_HOST SANDBOX_PORT SANDBOX_FIXTURES SANDBOX_FAULTS (comma list) SANDBOX_CONTROL_PORT SANDBOX_WINDOW_SECONDS SANDBOX_SPEC`;

function configError(message: string): never {
  process.stderr.write(`sandbox: ${message}\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > 65_535) configError(`${name} must be an integer from ${min} to 65535, got "${value}"\n${USAGE}`);
  return Number(value);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        fixtures: { type: 'string' },
        fault: { type: 'string', multiple: true },
        'window-seconds': { type: 'string' },
        'control-port': { type: 'string' },
        spec: { type: 'string' },
        'list-faults': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    configError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values['list-faults']) {
    process.stdout.write(`${values.json ? listFaultsJson() : listFaults()}\n`);
    return;
  }
  const env = process.env;
  const faults = [...(values.fault ?? []), ...(env.SANDBOX_FAULTS ?? '').split(',')].map((f) => f.trim()).filter(Boolean);
  const windowText = values['window-seconds'] ?? env.SANDBOX_WINDOW_SECONDS;
  const windowSeconds = windowText === undefined || windowText === '' ? undefined : Number(windowText);
  if (windowSeconds !== undefined && !(Number.isInteger(windowSeconds) && windowSeconds > 0)) {
    configError(`--window-seconds must be a positive integer, got "${windowText}"`);
  }
  let sandbox;
  try {
    sandbox = await startSandbox({
      host: values.host ?? env.SANDBOX_HOST ?? '127.0.0.1',
      port: integer('--port', values.port ?? env.SANDBOX_PORT, 0) ?? 8787,
      fixtures: values.fixtures ?? env.SANDBOX_FIXTURES ?? undefined,
      faults,
      windowSeconds,
      controlPort: integer('--control-port', values['control-port'] ?? env.SANDBOX_CONTROL_PORT, 0),
      spec: values.spec ?? env.SANDBOX_SPEC ?? undefined,
    });
  } catch (error) {
    if (error instanceof FaultError || error instanceof FixtureError || error instanceof SpecError) configError(error.message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') configError(`${(error as Error).message}; pick another --port (0 picks a free one)`);
    configError(`cannot start: ${(error as Error).message}`);
  }
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    sandbox!.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Handlers first, then the ready line: a test may signal as soon as it reads it.
  if (faults.length) process.stderr.write(`sandbox: fault switches on: ${faults.join(', ')}\n`);
  process.stdout.write(`sandbox listening on ${sandbox.url}${sandbox.controlUrl ? ` control ${sandbox.controlUrl}` : ''}\n`);
}

void main();
