// A controllable clock: real time plus an offset, or frozen at an instant. Tests move it through
// the programmatic handle or the loopback-only control listener; the public API has no clock route.

export interface SandboxClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Jump to an instant (stays frozen if frozen). */
  set(ms: number): void;
  /** Run at real time plus `ms` (stays frozen if frozen, at real time plus `ms`). */
  offset(ms: number): void;
  /** Stop the clock, at `ms` or at the current sandbox time. */
  freeze(ms?: number): void;
  /** Let it run again from where it stands. */
  unfreeze(): void;
  isFrozen(): boolean;
  /** Back to real time, running. */
  reset(): void;
}

export function createClock(realNow: () => number = Date.now): SandboxClock {
  let offsetMs = 0;
  let frozenAt: number | null = null;
  const clock: SandboxClock = {
    now: () => (frozenAt ?? realNow() + offsetMs),
    set(ms) {
      if (frozenAt !== null) frozenAt = ms;
      else offsetMs = ms - realNow();
    },
    offset(ms) {
      offsetMs = ms;
      if (frozenAt !== null) frozenAt = realNow() + ms;
    },
    freeze(ms) {
      frozenAt = ms ?? clock.now();
    },
    unfreeze() {
      if (frozenAt === null) return;
      offsetMs = frozenAt - realNow();
      frozenAt = null;
    },
    isFrozen: () => frozenAt !== null,
    reset() {
      offsetMs = 0;
      frozenAt = null;
    },
  };
  return clock;
}
