// The GRPO task both training scripts share (the hand-written backbone's and TF.js's): the
// stop rule, sampling, the reward, TRL's group advantages and the decoded completions.

/** The stop rule and the reward of the task. */
export const isStop = (byte: number): boolean => byte >= 0x80;
export const isLower = (byte: number): boolean => byte >= 0x61 && byte <= 0x7a;

/**
 * Inverse-CDF sampling from log-probabilities `logp[start .. start + V)` with a uniform `u`;
 * the last token when rounding leaves mass over.
 */
export function sampleToken(logp: ArrayLike<number>, start: number, V: number, u: number): number {
  for (let v = 0; v < V; v++) {
    u -= Math.exp(logp[start + v] ?? -Infinity);
    if (u < 0) return v;
  }
  return V - 1;
}

/** Reward of each completion: the fraction of its K slots holding a lower-case letter. */
export function rewardsOf(
  target: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  K: number,
): Float64Array {
  const rewards = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let j = 0; j < K; j++) if (mask[b * K + j] && isLower(target[b * K + j] ?? 0)) n++;
    rewards[b] = n / K;
  }
  return rewards;
}

/** TRL: advantages = (r − mean_group) / (std_group + 1e-4), std unbiased (torch.std). */
export function groupAdvantages(rewards: Float64Array, groups: number, G: number): Float32Array {
  const advantages = new Float32Array(groups * G);
  for (let g = 0; g < groups; g++) {
    const r = rewards.subarray(g * G, g * G + G);
    const mean = r.reduce((s, x) => s + x, 0) / G;
    const std = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / (G - 1));
    for (let i = 0; i < G; i++) advantages[g * G + i] = ((r[i] ?? 0) - mean) / (std + 1e-4);
  }
  return advantages;
}

/** Each completion's bytes up to its first unmasked slot, as text. */
export function completionTexts(
  target: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  K: number,
): string[] {
  const completions: string[] = [];
  for (let b = 0; b < B; b++) {
    let c = '';
    for (let j = 0; j < K && mask[b * K + j]; j++) c += String.fromCharCode(target[b * K + j] ?? 0);
    completions.push(c);
  }
  return completions;
}
