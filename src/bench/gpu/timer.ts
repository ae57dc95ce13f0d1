// The timer moved to the runtime (its per-stage profile uses it too); re-exported for the
// benchmark's modules.
export * from '../../runtime/gpu-timer.ts';
