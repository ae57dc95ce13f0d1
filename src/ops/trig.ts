import { elementwise } from './elementwise.ts';
import { input } from './unary.ts';

// The trigonometric functions (radians), for angular-margin losses (CosFace, ArcFace) and
// rotary features. `g` is the output cotangent, `x` the input.

export const cos = elementwise({
  op: 'cos',
  surface: { name: 'cos', doc: 'cosine (radians)' },
  name: 'cos',
  doc: 'cosine (radians)',
  arity: 1,
  domain: 'float',
  f: Math.cos,
  wgsl: ([a]) => `cos(${a})`,
  // d/dx cos x = −sin x
  vjp: (e, n, g) => [() => e.op('neg', [e.op('mul', [g, e.op('sin', [input(n, 0)])])])],
});

export const sin = elementwise({
  op: 'sin',
  surface: { name: 'sin', doc: 'sine (radians)' },
  name: 'sin',
  doc: 'sine (radians)',
  arity: 1,
  domain: 'float',
  f: Math.sin,
  wgsl: ([a]) => `sin(${a})`,
  // d/dx sin x = cos x
  vjp: (e, n, g) => [() => e.op('mul', [g, e.op('cos', [input(n, 0)])])],
});
