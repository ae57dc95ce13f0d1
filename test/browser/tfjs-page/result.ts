// What the TF.js page publishes (shared by the page and the test; no DOM here).

/** projc/tfjs against TF.js's own head, both on TF.js's webgpu backend in the page. */
export interface TfjsPageResult {
  readonly backend: string;
  readonly sameDevice: boolean;
  readonly loss: number;
  readonly lossRel: number;
  readonly gradXRel: number;
  readonly gradWRel: number;
  readonly inputBytes: number[];
}
