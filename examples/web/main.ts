/// <reference types="vite/client" />
// The projc playground: everything runs in the page (the browser build of projc: compile,
// autodiff, plan, WGSL codegen, and the runtime on navigator.gpu). `npx vite examples/web`
// serves it; test/browser/browser.test.ts drives it in headless Chromium.
import initial from '../cross_entropy.proj?raw';
import {
  compile,
  differentiate,
  planKernel,
  printFunction,
  printPlan,
  renderDiagnostic,
  Runtime,
  type IrFunction,
} from '../../src/browser.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';

const $ = <T extends HTMLElement>(id: string, type: new () => T): T => {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing`);
  return el;
};
const sourceBox = $('source', HTMLTextAreaElement);
const kernelBox = $('kernel', HTMLSelectElement);
const gradBox = $('grad', HTMLInputElement);
const dimsBox = $('dims', HTMLInputElement);
const chunkBox = $('chunk', HTMLInputElement);
const runButton = $('run', HTMLButtonElement);
const diagnosticsOut = $('diagnostics', HTMLPreElement);
const irOut = $('ir', HTMLPreElement);
const planOut = $('plan', HTMLPreElement);
const runOut = $('output', HTMLPreElement);

let current: IrFunction | undefined;
let runtime: Promise<Runtime> | undefined;

const gradList = () =>
  gradBox.value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseDims(text: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const part of text.split(',').filter((s) => s.trim())) {
    const [name, value] = part.split('=').map((s) => s.trim());
    const n = Number(value);
    if (!name || !Number.isInteger(n) || n < 1) throw new Error(`bad dim \`${part}\``);
    sizes.set(name, n);
  }
  return sizes;
}

/** Compiles the editor's text and shows its diagnostics, IR and plan. */
function update(): void {
  const { kernels, diagnostics } = compile(sourceBox.value, 'playground.proj');
  diagnosticsOut.textContent = diagnostics.length
    ? diagnostics.map(renderDiagnostic).join('\n')
    : `ok: ${kernels.size} kernel${kernels.size === 1 ? '' : 's'}`;
  diagnosticsOut.classList.toggle(
    'error',
    diagnostics.some((d) => d.severity === 'error'),
  );
  const chosen = kernelBox.value;
  kernelBox.replaceChildren(
    ...[...kernels.keys()].map((name) => new Option(name, name, false, name === chosen)),
  );
  current = kernels.get(kernelBox.value) ?? kernels.values().next().value;
  if (!current) {
    irOut.textContent = planOut.textContent = '';
    return;
  }
  try {
    const grad = gradList();
    const fn = current;
    const joint = grad.length ? differentiate(fn, { wrt: grad, cotangents: new Map() }) : undefined;
    irOut.textContent =
      `# forward\n${printFunction(fn)}` +
      (joint ? `\n# forward + backward (w.r.t. ${grad.join(', ')})\n${printFunction(joint)}` : '');
    const planned = planKernel({ kernel: fn, grad });
    planOut.textContent = printPlan(planned.fn, planned.plan);
  } catch (e) {
    irOut.textContent = planOut.textContent = '';
    diagnosticsOut.textContent += `\n${e instanceof Error ? e.message : String(e)}`;
    diagnosticsOut.classList.add('error');
  }
}

/** Runs the selected kernel on navigator.gpu with seeded random inputs. */
async function run(): Promise<void> {
  const kernel = current;
  if (!kernel) return;
  runOut.textContent = 'running…';
  try {
    runtime ??= Runtime.create();
    const rt = await runtime;
    const inputs = randomInputs(kernel, parseDims(dimsBox.value), 1);
    const chunkRows = Number(chunkBox.value) || undefined;
    const r = await rt.run(kernel, Object.fromEntries(inputs), {
      grad: gradList(),
      ...(chunkRows ? { chunkRows } : {}),
    });
    const lines = [`adapter: ${rt.device.adapterInfo}`];
    for (const [name, t] of [
      ...r.outputs,
      ...[...r.grads].map(([k, v]) => [`grad.${k}`, v] as const),
    ]) {
      const xs = Array.from(t.data);
      lines.push(
        xs.length === 1
          ? `${name} = ${xs[0]}`
          : `${name} : [${t.shape.join(', ')}]  ‖·‖ ${Math.hypot(...xs).toPrecision(6)}  first ${xs
              .slice(0, 3)
              .map((x) => x.toPrecision(4))
              .join(', ')}`,
      );
    }
    const s = r.stats;
    lines.push(
      `${s.chunks} chunks of ${s.chunkRows} rows, ${s.sweeps} sweep(s), peak ${(s.peakBytes / 1024).toFixed(1)} KiB, ${s.ms.toFixed(1)} ms`,
    );
    runOut.textContent = lines.join('\n');
  } catch (e) {
    runOut.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
  }
}

let pending: ReturnType<typeof setTimeout> | undefined;
const later = () => {
  clearTimeout(pending);
  pending = setTimeout(update, 150);
};
sourceBox.addEventListener('input', later);
gradBox.addEventListener('input', later);
kernelBox.addEventListener('change', update);
runButton.addEventListener('click', () => void run());
sourceBox.value = initial;
update();
