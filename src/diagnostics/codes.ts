/**
 * Every diagnostic code projc can emit, with a one-line description. The index in
 * docs/language.md is checked against this table by a test, and every code here has a
 * test that triggers it.
 *
 * Ranges: P00xx lexical/syntax, P01xx names and declarations, P02xx types and shapes,
 * P03xx gradients and chunking, P04xx inputs and command line, P05xx limits and resources
 * (program size, nesting, integer range, output files, device limits), P09xx internal.
 */
export const CODES = {
  // --- lexical and syntax
  P0001: 'unexpected character',
  P0002: 'syntax error',
  P0003: 'malformed number literal',
  // --- names and declarations
  P0101: 'unknown name',
  P0102: 'name assigned twice',
  P0103: 'duplicate parameter',
  P0104: 'duplicate declaration',
  P0105: 'unknown function',
  P0106: 'wrong number of arguments',
  P0107: 'recursive fn',
  P0108: 'result not produced',
  P0109: 'misplaced return or result assignment',
  P0110: 'unknown dim',
  P0111: 'a dim was expected',
  P0112: 'a value was expected, found a dim',
  P0113: 'default value on a tensor parameter',
  P0114: 'kernel not found',
  P0115: 'unused value',
  P0116: 'name shadows a built-in or parameter',
  // dim constraints and optional tensors (the signature: P013x)
  P0130: 'malformed dim constraint',
  P0131: 'dim constraint on a dim no tensor parameter has',
  P0132: 'dim declared twice in the parameter list',
  P0133: 'optional marker or default in the wrong place',
  // --- types and shapes
  P0201: 'mixed i32 and f32 operands',
  P0202: 'bool used as a number',
  P0203: 'a bool was expected',
  P0204: 'contracted dims of @ differ',
  P0205: '.T of a tensor that is not 2-D',
  P0206: 'reduction over a dim the value lacks',
  P0207: 'index tensor of gather has the wrong dims',
  P0208: 'result type differs from its declaration',
  P0209: 'default value does not fit the parameter type',
  P0210: 'dim appears in both operands of @',
  P0211: 'operation not defined for i32',
  P0212: 'operand of @ is a scalar',
  P0213: 'repeated dim',
  P0230: '`present` of a value that is not an optional tensor parameter',
  P0231: 'bad argument to shift',
  // --- gradients and chunking
  P0301: 'gradient requested for a parameter that cannot have one',
  P0302: 'cannot be run chunked',
  // --- inputs and command line
  P0401: 'missing input',
  P0402: 'wrong dtype for an input',
  P0403: 'dim sizes disagree',
  P0404: 'bad safetensors file',
  P0405: 'bad value for an option',
  P0406: 'unused input tensor',
  P0407: 'value out of range',
  P0408: 'wrong shape for an input',
  P0430: 'dim size breaks a constraint of the signature',
  P0431: 'gradient asked of an absent optional tensor',
  // --- limits and resources
  P0501: 'fn inlining expands the kernel too far',
  P0502: 'fn calls nested too deep',
  P0503: 'duplicate result name',
  P0504: 'integer literal out of i32 range',
  P0505: 'cannot write an output file',
  P0506: 'a tensor is too large for the backend or the device',
  // --- internal
  P0901: 'internal compiler error',
} as const;

export type Code = keyof typeof CODES;
