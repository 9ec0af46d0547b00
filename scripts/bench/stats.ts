// The summary every bench figure gets: median, p95, min and max over the repeated runs of one invocation.

export interface Summary {
  runs: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  /** Every run's value, in the order measured. */
  samples: number[];
}

/** Nearest-rank quantile of sorted values (q in 0..1). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('a quantile of no samples was asked for');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    runs: samples.length,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
    samples: [...samples],
  };
}

export async function timed(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}
