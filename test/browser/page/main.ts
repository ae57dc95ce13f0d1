/// <reference types="vite/client" />
// The browser test's page: runs the shared case on navigator.gpu and publishes the result
// on `window.projcResult` (or the error on `window.projcError`) for the test to read.
import source from '../../../examples/cross_entropy.proj?raw';
import { Runtime } from '../../../src/browser.ts';
import { CHUNK_ROWS, runCrossEntropy, SIZES, type CaseResult } from './cross-entropy-case.ts';

declare global {
  interface Window {
    projcResult?: CaseResult;
    projcError?: string;
  }
}

const status = document.getElementById('status');
const sourceBox = document.getElementById('source');
if (sourceBox) sourceBox.textContent = source;

try {
  const rt = await Runtime.create();
  const r = await runCrossEntropy(rt, source);
  rt.release();
  const norm = (xs: readonly number[]) => Math.hypot(...xs).toPrecision(6);
  if (status) {
    status.textContent = [
      `adapter: ${r.adapter}`,
      `sizes: N=${SIZES.N} H=${SIZES.H} V=${SIZES.V}, ${r.chunks} chunks of ${CHUNK_ROWS} rows`,
      `loss = ${r.loss}`,
      `‖grad.X‖ = ${norm(r.gradX)}   ‖grad.W‖ = ${norm(r.gradW)}`,
    ].join('\n');
  }
  window.projcResult = r;
} catch (e) {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (status) status.textContent = `error: ${message}`;
  window.projcError = message;
}
