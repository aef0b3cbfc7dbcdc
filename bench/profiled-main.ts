// The product plugin with V8's CPU profiler running, for `KVP_BENCH_CPU_PROF=DIR npm run bench:e2e`.
// Node 20 refuses --cpu-prof in NODE_OPTIONS and a single executable takes no command-line flags, so
// this build starts the profiler itself (node:inspector, same thread) and writes DIR/<pid>.cpuprofile
// when the process exits. Built by the benchmark into dist-prof/, never shipped.
import '../src/host/heap-tuning.ts';
import './cpu-profiler.ts';
import '../src/main.ts';
