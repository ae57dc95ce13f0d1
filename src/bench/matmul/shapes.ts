// Shapes of the matmul benchmark: `M,K,N` (C[M, N] = A·B, A [M, K] and B [K, N] row-major)
// with an optional layout, `M,K,N/nt` (B stored [N, K] and read transposed: the logits
// z = Xc·Wᵀ) or `M,K,N/tn` (A stored [K, M] and read transposed: dW += dzᵀ·Xc).

/** Which operand is stored transposed: none (dX = dz·W), B (z = Xc·Wᵀ) or A (dW = dzᵀ·Xc). */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

export interface MatmulShape {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly layout: MatmulLayout;
}

const LAYOUTS: readonly MatmulLayout[] = ['nn', 'nt', 'tn'];

/** Parses `M,K,N[/layout];...`; throws with the offending item. */
export function parseMatmulShapes(text: string): MatmulShape[] {
  const items = text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!items.length) throw new Error(`no matmul shapes in '${text}' (expected 'M,K,N;...')`);
  return items.map((item) => {
    const [dims = '', layout = 'nn', ...rest] = item.split('/');
    const sizes = dims.split(',').map((s) => Number(s.trim()));
    const [M, K, N] = sizes;
    if (
      rest.length ||
      sizes.length !== 3 ||
      M === undefined ||
      K === undefined ||
      N === undefined ||
      !sizes.every((v) => Number.isInteger(v) && v >= 1)
    )
      throw new Error(`matmul shape '${item}' is not 'M,K,N' of positive integers (or 'M,K,N/nt')`);
    const l = LAYOUTS.find((x) => x === layout);
    if (!l) throw new Error(`matmul shape '${item}': layout '${layout}' is not one of nn, nt, tn`);
    return { M, K, N, layout: l };
  });
}

/** `M×K×N` with the layout when it is not nn. */
export function shapeName(s: MatmulShape): string {
  return `${s.M}×${s.K}×${s.N}${s.layout === 'nn' ? '' : ` ${s.layout}`}`;
}

/** The strides of A (sAm, sAk) and B (sBk, sBn) of a layout, in elements, row-major storage. */
export function layoutStrides(s: MatmulShape): {
  sAm: number;
  sAk: number;
  sBk: number;
  sBn: number;
} {
  const a = s.layout === 'tn' ? { sAm: 1, sAk: s.M } : { sAm: s.K, sAk: 1 };
  const b = s.layout === 'nt' ? { sBk: 1, sBn: s.K } : { sBk: s.N, sBn: 1 };
  return { ...a, ...b };
}
