import { describe, expect, it } from 'vitest';
import { createClock } from './clock.ts';
import { badIntegerPaths, mayHaveBadIntegers } from './literals.ts';
import { NonceStore } from './nonces.ts';

describe('literals', () => {
  it.each([
    ['{"a":1}', []],
    ['{"a":1.0}', ['a']],
    ['{"a":-1e3,"b":"1.5","c":[1.5]}', ['a']],
    ['{"a":9223372036854775807,"b":-9223372036854775808,"c":9223372036854775808}', ['c']],
    ['{"e":{"code":2.5,"n":{"x":1.5}},"k":"v\\"1.5"}', ['e.code', 'e.n.x']],
    ['{"a":1.5,"a":1}', []],
    ['{"a":1,"a":1.5}', ['a']],
  ])('badIntegerPaths > %s', (text, expected) => {
    expect([...badIntegerPaths(text)].sort()).toEqual(expected);
  });
  it('mayHaveBadIntegers > skips plain bodies', () => {
    expect(mayHaveBadIntegers('{"apkKey":"a","versionCode":12}')).toBe(false);
    expect(mayHaveBadIntegers('{"versionCode":1.0}')).toBe(true);
  });
});

describe('nonces', () => {
  it('nonces > check-and-record, then expiry after the retention period', () => {
    const store = new NonceStore(600_000);
    expect(store.checkAndRecord('n1', 0)).toBe(true);
    expect(store.checkAndRecord('n1', 599_000)).toBe(false);
    expect(store.has('n1', 650_000)).toBe(true);
    expect(store.checkAndRecord('n1', 700_000)).toBe(true);
    expect(store.has('n1', 700_000)).toBe(true);
  });
  it('nonces > memory is bounded by the window: old buckets are dropped', () => {
    const store = new NonceStore(600_000);
    for (let i = 0; i < 100_000; i++) store.checkAndRecord(`nonce-${i}`, i * 100); // 10 000 s of traffic
    expect(store.size).toBeLessThanOrEqual(6_600 + 300);
  });
});

describe('clock', () => {
  it('clock > set, offset, freeze, unfreeze, reset', () => {
    let real = 1_000;
    const clock = createClock(() => real);
    clock.set(5_000);
    real += 10;
    expect(clock.now()).toBe(5_010);
    clock.freeze();
    real += 10;
    expect([clock.now(), clock.isFrozen()]).toEqual([5_010, true]);
    clock.unfreeze();
    real += 5;
    expect(clock.now()).toBe(5_015);
    clock.offset(-20);
    expect(clock.now()).toBe(real - 20);
    clock.reset();
    expect(clock.now()).toBe(real);
  });
});
