// Accepted nonces, remembered for twice the timestamp window (a stamp 5 min ahead of the clock stays
// valid for 10 min). Memory stays bounded by the window, not by the run: nonces go into one Set per
// time bucket, and whole buckets are dropped once they fall out of the retention period.
// Check-and-record is one synchronous call, so it is atomic in the single Node process.

const BUCKET_MS = 30_000;

export class NonceStore {
  private readonly buckets = new Map<number, Set<string>>();
  private readonly retainBuckets: number;
  private lastPruned = Number.NaN;

  constructor(retentionMs: number) {
    // +1 so a nonce is kept at least retentionMs whatever its position in its bucket.
    this.retainBuckets = Math.ceil(retentionMs / BUCKET_MS) + 1;
  }

  /** True when the nonce was unused (and is now recorded); false when already seen. */
  checkAndRecord(nonce: string, nowMs: number): boolean {
    const index = Math.floor(nowMs / BUCKET_MS);
    if (index !== this.lastPruned) this.prune(index);
    for (const set of this.buckets.values()) if (set.has(nonce)) return false;
    let current = this.buckets.get(index);
    if (!current) {
      current = new Set();
      this.buckets.set(index, current);
    }
    current.add(nonce);
    return true;
  }

  has(nonce: string, nowMs: number): boolean {
    this.prune(Math.floor(nowMs / BUCKET_MS));
    for (const set of this.buckets.values()) if (set.has(nonce)) return true;
    return false;
  }

  /** Number of nonces currently remembered. */
  get size(): number {
    let n = 0;
    for (const set of this.buckets.values()) n += set.size;
    return n;
  }

  clear(): void {
    this.buckets.clear();
    this.lastPruned = Number.NaN;
  }

  // Buckets outside [now − retention, now + retention] go: the far side covers a clock moved back.
  private prune(index: number): void {
    this.lastPruned = index;
    for (const key of this.buckets.keys()) {
      if (key < index - this.retainBuckets || key > index + this.retainBuckets) this.buckets.delete(key);
    }
  }
}
