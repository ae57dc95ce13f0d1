// The interface between the matmul module (./matmul.ts) and its bodies (./matmul-staged.ts,
// ./matmul-direct.ts).

/** What a kernel body needs of the module: the thread's outputs and the operand loads. */
export interface MatmulShape {
  /** Register rows i of a thread: output rows m0 + lid.y + i·TY. */
  readonly rows: readonly number[];
  /** Register columns j of a thread: output columns n0 + lid.x + j·TX. */
  readonly cols: readonly number[];
  readonly threadsX: number;
  readonly threadsY: number;
  readonly tileK: number;
  /** WGSL of A's (B's) element at a flat index expression, as f32. */
  readonly loadA: (index: string) => string;
  readonly loadB: (index: string) => string;
  /** A (B) is bound as array<vec4f> and read as vec4 along k (see MatmulConfig.vecA). */
  readonly vecA: boolean;
  readonly vecB: boolean;
  /** The accumulator variable of output (i, j). */
  readonly acc: (i: number, j: number) => string;
}

/** A body's module-scope declarations and the statements of `main` after the accumulators. */
export interface MatmulBody {
  readonly decls: string;
  readonly main: string;
}
