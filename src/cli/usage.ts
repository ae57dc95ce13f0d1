export { UsageError } from '../shell/usage-error.ts';

export const USAGE = `projc — compile reduce(f, X @ W) programs into chunked, differentiated GPU kernels

usage:
  projc check FILE...                                   parse and type-check
  projc ir FILE [--kernel K] [--grad X,W] [--vocab-tile T]   print the forward and backward IR
  projc compile FILE [--kernel K] [--grad X,W] --out DIR   write the WGSL modules and manifest.json
  projc plan FILE [--kernel K] --dims N=..,H=..,V=.. [--grad X,W]
           [--memory-budget 2GiB] [--chunk-rows K] [--vocab-tile auto|rows|T] [--json]
                                                        the chunk plan and predicted peak bytes
  projc run FILE [--kernel K] (--inputs IN.safetensors | --dims N=..,H=.. [--seed S])
           [--set NAME=VALUE]... [--grad X,W] [--cotangent NAME=V]...
           [--backend webgpu|cpu] [--chunk-rows auto|K] [--memory-budget 256MiB]
           [--vocab-tile auto|rows|T] [--matmul-tiles portable|tune]
           [--out OUT.safetensors] [--json] [--profile]
  projc bench FILE [--kernel K] [--grad X,W] [--dims H=64] [--grid 'N=256|1024,V=512|2048']
           [--repeats 5] [--chunk-rows 64,256,all] [--memory-budget B] [--seed S] [--json]
           [--vocab-tile T1,T2] [--peers eager,tfjs] [--matmul-tiles tune|portable]
           [--no-floor] [--out docs/bench]
                                                        projc against the materialized baseline
                                                        and TF.js (when installed)

exit codes: 0 success, 1 a diagnosed error in the program or inputs, 2 bad usage,
            3 an internal error of projc (a bug: please report it)
`;
