// `npm run bench:runtime`: what choosing and starting a runtime costs, measured in one run.
//   1. the `auto` decision with no engine (socket missing): how fast the fallback is decided
//   2. the `auto` decision with an engine that accepts connections but never answers (probe timeout)
//   3. with an engine and built images: the decision, and starting + stopping the sandbox behind a
//      Prism proxy as containers vs as processes (median of 3 each), as a ratio
// Figures are printed, not asserted: this machine is shared and noisy.
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveRuntime, startServices, type RuntimeKind } from '../harness/index.ts';

const logDir = mkdtempSync(path.join(tmpdir(), 'bench-runtime-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timeIt(n: number, body: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await body();
    times.push(performance.now() - t);
  }
  return median(times);
}
const rows: Array<[string, string]> = [];
const needs = { sandbox: true, prism: true };

const noEngine = { ...process.env, DOCKER_HOST: `unix://${path.join(logDir, 'no-engine.sock')}` };
const missing = await timeIt(50, () => resolveRuntime('auto', needs, noEngine));
rows.push(['auto decision, no engine (median of 50)', `${missing.toFixed(2)} ms`]);

// An "engine" on loopback that accepts and never answers: the probe gives up after its 500 ms timeout.
const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
await new Promise((r) => silent.once('listening', r));
const silentEnv = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}` };
const hanging = await timeIt(3, () => resolveRuntime('auto', needs, silentEnv));
silent.close();
rows.push(['auto decision, engine that never answers (median of 3)', `${hanging.toFixed(0)} ms`]);

const decision = await resolveRuntime('auto', needs);
if (decision.runtime === 'container') {
  rows.push(['auto decision, engine and images present (median of 10)', `${(await timeIt(10, () => resolveRuntime('auto', needs))).toFixed(1)} ms`]);
  const startStop = (runtime: RuntimeKind) =>
    timeIt(3, async () => {
      const s = await startServices({ runtime, logDir, sandbox: { controlPort: true }, prism: { mode: 'proxy', logLevel: 'warn' } });
      await s.stop();
    });
  const container = await startStop('container');
  const processes = await startStop('process');
  rows.push(['sandbox + Prism proxy start and stop, containers (median of 3)', `${container.toFixed(0)} ms`]);
  rows.push(['sandbox + Prism proxy start and stop, processes (median of 3)', `${processes.toFixed(0)} ms`]);
  rows.push(['containers / processes', `${(container / processes).toFixed(2)}×`]);
} else {
  rows.push(['containers', `not measured: ${decision.reason}`]);
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log('bench:runtime');
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
