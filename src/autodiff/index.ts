export { differentiate, type Cotangent, type DifferentiateOptions } from './differentiate.ts';
export { fitTo } from './fit-to.ts';
