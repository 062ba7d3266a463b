// Snowflake IDs: 64-bit, time-ordered (ms since 2015-01-01 | 10-bit node | 12-bit sequence), as decimal strings.
const EPOCH = 1420070400000n;

export class SnowflakeGenerator {
  private lastMs = -1n;
  private sequence = 0n;

  constructor(private readonly node: bigint = BigInt(process.pid % 1024)) {}

  next(): string {
    let now = BigInt(Date.now()) - EPOCH;
    if (now <= this.lastMs) {
      // Same millisecond (or the clock stepped back): keep counting from the last timestamp.
      now = this.lastMs;
      this.sequence = (this.sequence + 1n) & 0xfffn;
      if (this.sequence === 0n) now += 1n;
    } else {
      this.sequence = 0n;
    }
    this.lastMs = now;
    return ((now << 22n) | (this.node << 12n) | this.sequence).toString();
  }
}

export const isSnowflake = (value: string): boolean => /^[0-9]{1,20}$/.test(value) && BigInt(value) < 1n << 64n;
