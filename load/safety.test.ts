import { describe, expect, it } from 'vitest';
import { checkPlan, isLoopbackHost } from './safety.ts';

const local = { baseUrl: 'http://127.0.0.1:8787', durationSeconds: 5, connections: 8 };

describe('load safety', () => {
  it('load safety > loopback addresses are recognised', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['10.0.0.1', '192.168.1.1', 'staging.example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('load safety > a bounded loopback plan may run', () => {
    expect(checkPlan(local)).toEqual([]);
  });

  it('load safety > a loopback plan over the caps is refused', () => {
    expect(checkPlan({ ...local, durationSeconds: 3600 }).join('\n')).toMatch(/--duration 3600s is over the cap/);
    expect(checkPlan({ ...local, connections: 1000 }).join('\n')).toMatch(/--connections 1000 is over the cap/);
  });

  it('load safety > a remote target needs the confirmation variable naming its host', () => {
    const plan = { baseUrl: 'https://staging.example.com', durationSeconds: 10, connections: 2, rate: 10 };
    expect(checkPlan(plan).join('\n')).toMatch(/LOAD_CONFIRM_HOST=staging\.example\.com/);
    expect(checkPlan({ ...plan, confirmHost: 'other.example.com' }).join('\n')).toMatch(/LOAD_CONFIRM_HOST/);
    expect(checkPlan({ ...plan, confirmHost: 'staging.example.com' })).toEqual([]);
  });

  it('load safety > a remote target is capped in rate, duration and connections', () => {
    const plan = { baseUrl: 'https://staging.example.com', durationSeconds: 10, connections: 2, confirmHost: 'staging.example.com' };
    expect(checkPlan(plan).join('\n')).toMatch(/needs --rate/);
    expect(checkPlan({ ...plan, rate: 500 }).join('\n')).toMatch(/over the remote cap of 50/);
    expect(checkPlan({ ...plan, rate: 10, durationSeconds: 3600 }).join('\n')).toMatch(/over the remote cap of 300s/);
    expect(checkPlan({ ...plan, rate: 10, connections: 50 }).join('\n')).toMatch(/over the remote cap of 10/);
  });

  it('load safety > nonsense input is named', () => {
    expect(checkPlan({ ...local, baseUrl: 'not a url' }).join('\n')).toMatch(/UPGRADELINK_BASE_URL/);
    expect(checkPlan({ ...local, durationSeconds: 0 }).join('\n')).toMatch(/--duration must be positive|--duration must be a positive/);
    expect(checkPlan({ ...local, rate: -1 }).join('\n')).toMatch(/--rate must be a positive/);
  });
});
