// Proof that an emitted WGSL module compiles on the runtime's own compiler (Tint in Dawn,
// the browser's otherwise). Codegen tests call this on every module they emit.

/** The outcome of compiling one module; `messages` are `label:line:col: severity: text`. */
export interface WgslCheck {
  ok: boolean;
  messages: string[];
}

export interface WgslCheckOptions {
  /**
   * Also build a compute pipeline (layout 'auto') for each of these entry points: that is
   * where the device's limits are checked (workgroup size and storage, bindings per stage)
   * and where a backend compiles the module for real (e.g. WGSL → GLSL → Mesa on OpenGL).
   */
  computeEntryPoints?: readonly string[];
}

/**
 * Compiles `code` and reports every compilation message with its line and column. `ok` is
 * false when there is an error message or the module is invalid for any other reason
 * (reported through the validation error scope), or when a requested pipeline fails.
 */
export async function checkWgsl(
  device: GPUDevice,
  code: string,
  label: string,
  options: WgslCheckOptions = {},
): Promise<WgslCheck> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const scopeError = await device.popErrorScope();
  const messages = info.messages.map((m) => formatMessage(m, label, code));
  const hasError = info.messages.some((m) => m.type === 'error');
  if (scopeError && !hasError) messages.push(`${label}: error: ${scopeError.message}`);
  let ok = !hasError && scopeError === null;
  if (!ok) return { ok, messages };
  for (const entryPoint of options.computeEntryPoints ?? []) {
    try {
      await device.createComputePipelineAsync({
        label: `${label}:${entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint },
      });
    } catch (e) {
      ok = false;
      const text = e instanceof Error ? e.message : String(e);
      messages.push(`${label}: error: pipeline for entry point '${entryPoint}': ${text}`);
    }
  }
  return { ok, messages };
}

function formatMessage(m: GPUCompilationMessage, label: string, code: string): string {
  // lineNum/linePos are 1-based; 0 means the message has no position.
  const where = m.lineNum > 0 ? `${label}:${m.lineNum}:${m.linePos}` : label;
  const line = m.lineNum > 0 ? code.split('\n')[m.lineNum - 1] : undefined;
  const source = line === undefined ? '' : `\n  | ${line}`;
  return `${where}: ${m.type}: ${m.message}${source}`;
}
