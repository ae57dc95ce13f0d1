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
  /** A (B) is bound as an array of vec4s and read a vec4 at a time along k (MatmulConfig.vecA). */
  readonly vecA?: VecOperand;
  readonly vecB?: VecOperand;
  /** The accumulator variable of output (i, j). */
  readonly acc: (i: number, j: number) => string;
}

/** A body's module-scope declarations and the statements of `main` after the accumulators. */
export interface MatmulBody {
  readonly decls: string;
  readonly main: string;
}

/** How an operand read as vec4s along k unpacks them. */
export interface VecOperand {
  /** Elements per vec4: 4 f32, or 8 16-bit values in 4 words. */
  readonly width: 4 | 8;
  /** WGSL of element q (0 ≤ q < width) of the loaded vec4 `v`, as f32. */
  readonly element: (v: string, q: number) => string;
}
