import type { Cotangent } from '../autodiff/differentiate.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import type { IrFunction } from '../ir/types.ts';
import type { ParsedArgs } from './parse-cli.ts';
import { UsageError } from './usage.ts';

export { parseDims } from '../shell/parse-dims.ts';

export type CliValues = ParsedArgs['values'];

/** `X,W` → ['X', 'W']; empty names are a usage error. */
export function gradList(s: string | undefined): string[] {
  if (s === undefined) return [];
  const names = s.split(',').map((x) => x.trim());
  if (names.some((n) => n === ''))
    throw new UsageError(`--grad takes names separated by commas, got \`${s}\``);
  return [...new Set(names)];
}

/** `NAME=VALUE` → [NAME, VALUE]. */
export function parseAssignment(flag: string, s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0 || i === s.length - 1) throw new UsageError(`${flag} takes NAME=VALUE, got \`${s}\``);
  return [s.slice(0, i).trim(), s.slice(i + 1).trim()];
}

/**
 * Cotangents for commands that plan without inputs (`ir`, `plan`, `compile`): a lone
 * scalar result gets 1, any other result a tensor cotangent parameter (the general
 * backward); `--cotangent NAME=NUMBER` fixes one to a constant, `NAME=tensor` to a tensor.
 */
export function planningCotangents(
  fn: IrFunction,
  specs: readonly string[] = [],
): Map<string, Cotangent> {
  const lone = fn.results.length === 1 && fn.nodes[fn.results[0]?.node ?? -1]?.dims.length === 0;
  const cot = new Map<string, Cotangent>(
    fn.results.map((r) => [r.name, lone ? { kind: 'const', value: 1 } : { kind: 'tensor' }]),
  );
  for (const s of specs) {
    const [name, value] = parseAssignment('--cotangent', s);
    if (!cot.has(name))
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `--cotangent ${name}: \`${fn.name}\` has no result \`${name}\``,
        notes: [`results: ${fn.results.map((r) => r.name).join(', ')}`],
      });
    const v = Number(value);
    cot.set(
      name,
      value !== '' && !Number.isNaN(v) ? { kind: 'const', value: v } : { kind: 'tensor' },
    );
  }
  return cot;
}
