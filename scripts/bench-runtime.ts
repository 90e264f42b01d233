// `npm run bench:runtime`: what choosing and starting a runtime costs, measured in one run.
//   1. the `auto` decision with no engine (socket missing): how fast the fallback is decided
//   2. the `auto` decision with an engine that accepts connections but never answers (probe timeout)
//   3. with an engine and built images: the first decision in a process (it loads testcontainers and
//      lets it find the engine), later ones, and starting + stopping the sandbox behind a Prism proxy
//      as containers vs as processes (median of 3 each), as a ratio
// Figures are printed, not asserted: this machine is shared and noisy.
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseLauncher, stopAll, type Launcher, type RunningService, type RuntimeChoice } from '../harness/index.ts';

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
const quiet = () => {};
const choose = (choice: RuntimeChoice, env: NodeJS.ProcessEnv = process.env) => chooseLauncher({ choice, needs, env, notice: quiet });

const noEngine = { ...process.env, DOCKER_HOST: `unix://${path.join(logDir, 'no-engine.sock')}` };
const missing = await timeIt(50, () => choose('auto', noEngine));
rows.push(['auto decision, no engine (median of 50)', `${missing.toFixed(2)} ms`]);

// An "engine" on loopback that accepts and never answers: the probe gives up after its 500 ms timeout.
const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
await new Promise((r) => silent.once('listening', r));
const silentEnv = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}` };
const hanging = await timeIt(3, () => choose('auto', silentEnv));
silent.close();
rows.push(['auto decision, engine that never answers (median of 3)', `${hanging.toFixed(0)} ms`]);

const first = performance.now();
const launcher = await choose('auto');
const firstMs = performance.now() - first;
if (launcher.kind === 'container') {
  rows.push(['auto decision, engine and images, first in a process (loads testcontainers)', `${firstMs.toFixed(0)} ms`]);
  rows.push(['auto decision, engine and images, later (median of 10)', `${(await timeIt(10, () => choose('auto'))).toFixed(1)} ms`]);
  const startStop = (launcher: Launcher) =>
    timeIt(3, async () => {
      const started: RunningService[] = [];
      try {
        const sandbox = await launcher.startSandbox({ controlPort: true, logFile: path.join(logDir, 'sandbox.log') });
        started.push(sandbox);
        started.push(await launcher.startPrism({ mode: 'proxy', upstream: sandbox.url, logLevel: 'warn', logFile: path.join(logDir, 'prism-proxy.log') }));
      } finally {
        await stopAll(started);
      }
    });
  const container = await startStop(launcher);
  const processes = await startStop(await choose('process'));
  rows.push(['sandbox + Prism proxy start and stop, containers (median of 3)', `${container.toFixed(0)} ms`]);
  rows.push(['sandbox + Prism proxy start and stop, processes (median of 3)', `${processes.toFixed(0)} ms`]);
  rows.push(['containers / processes', `${(container / processes).toFixed(2)}×`]);
} else {
  rows.push(['containers', `not measured: ${launcher.fallbackReason}`]);
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log('bench:runtime');
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
