// For tests that need containers: they run when a Docker engine answers and the images are built,
// and otherwise skip with the reason, except in CI with UPGRADELINK_REQUIRE_CONTAINERS=1, where they
// fail: a CI that promised containers must not go green without them.
import type { TestContext } from 'vitest';
import { chooseLauncher, containerFailure, type ContainerLauncher } from './index.ts';

let opened: Promise<ContainerLauncher | string> | undefined;

/** One container launcher for the test file (every image needed), or why there is none. */
function containers(): Promise<ContainerLauncher | string> {
  return (opened ??= chooseLauncher({ choice: 'container', needs: { sandbox: true, prism: true, loadRunner: true } }).catch(containerFailure));
}

/** The container launcher, or skips the test saying why (fails it in CI that requires containers). */
export async function needContainers(ctx: TestContext, who: string): Promise<ContainerLauncher> {
  const launcher = await containers();
  if (typeof launcher !== 'string') return launcher;
  if (process.env.CI && process.env.UPGRADELINK_REQUIRE_CONTAINERS === '1') {
    throw new Error(`CI with UPGRADELINK_REQUIRE_CONTAINERS=1, but containers cannot run: ${launcher}`);
  }
  console.warn(`${who} container tests skipped: ${launcher}`);
  return ctx.skip(`containers unavailable: ${launcher}`);
}
