// libtorch's CPU generator (mt19937) and its randperm, in JavaScript, so that a
// sampler can reproduce torch.randperm(n, generator=torch.Generator().manual_seed(s))
// exactly without touching flare's global libtorch generator.

/** The 32-bit Mersenne Twister as at::mt19937 (seeded by the low 32 bits of the seed). */
export class MT19937 {
  private readonly state = new Uint32Array(624);
  private left = 624;
  constructor(seed: number | bigint) {
    const s = Number(BigInt.asUintN(32, BigInt(seed)));
    this.state[0] = s;
    for (let j = 1; j < 624; j++) {
      const prev = this.state[j - 1] ^ (this.state[j - 1] >>> 30);
      // 1812433253 * prev + j, modulo 2^32, without losing precision.
      this.state[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.state;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.left = 0;
  }

  /** The next 32-bit output (CPUGeneratorImpl::random()). */
  next(): number {
    if (this.left >= 624) this.twist();
    let y = this.state[this.left++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** torch.randperm(n) from a CPU generator freshly seeded with `seed` (libtorch's small-n Fisher-Yates). */
export function torchRandperm(n: number, seed: number | bigint): number[] {
  if (n >= Math.floor(0xffffffff / 20)) throw new RangeError(`torchRandperm(): n = ${n} is too large`);
  const engine = new MT19937(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const z = engine.next() % (n - i);
    const saved = out[i];
    out[i] = out[z + i];
    out[z + i] = saved;
  }
  return out;
}
