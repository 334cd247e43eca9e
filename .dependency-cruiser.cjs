/**
 * The import rules of ARCHITECTURE.md, checked by test/architecture-imports.test.ts
 * (`npx depcruise common schedulers workloads results report harness scripts` prints them).
 * Layers, lowest first: common → model → schedulers → workloads → results → report →
 * harness → scripts (model is beside schedulers: it imports only common). A module may import its own layer and the layers below it, never one above.
 */
const layer = (name, path, mayImport) => ({
  name: `${name}-imports-only-below`,
  comment: `${name} may import only ${mayImport.join(', ') || 'nothing of the project'}`,
  severity: 'error',
  from: { path },
  to: { path: '^(common|model|schedulers|workloads|results|report|harness|scripts)/', pathNot: [path, ...mayImport.map((p) => `^${p}/`)] },
});

module.exports = {
  forbidden: [
    layer('common', '^common/', []),
    layer('model', '^model/', ['common']),
    layer('schedulers', '^schedulers/', ['common']),
    layer('workloads', '^workloads/', ['common', 'schedulers']),
    layer('results', '^results/', ['common']),
    layer('report', '^report/', ['common', 'model', 'results']),
    layer('harness', '^harness/', ['common', 'model', 'schedulers', 'workloads', 'results', 'report']),
    {
      name: 'scheduler-core-below-schedulers',
      comment: 'the core modules of schedulers/ (graph, ops, errors, types...) import no scheduler and not the public index',
      severity: 'error',
      from: { path: '^schedulers/[^/]+$' , pathNot: '^schedulers/index\\.ts$' },
      to: { path: ['^schedulers/(local|sync|threads|processes|distributed|bullmq)/', '^schedulers/index\\.ts$'] },
    },
    {
      name: 'local-engine-below-executors',
      comment: 'the local engine (schedulers/local/) imports none of the executors built on it, nor distributed',
      severity: 'error',
      from: { path: '^schedulers/local/' },
      to: { path: '^schedulers/(sync|threads|processes|distributed|bullmq)/|^schedulers/index\\.ts$' },
    },
    {
      name: 'executors-independent',
      comment: 'sync, threads, processes and bullmq each import only the engine and the core, not each other or distributed',
      severity: 'error',
      from: { path: '^schedulers/(sync|threads|processes|bullmq)/' },
      to: { path: '^schedulers/(sync|threads|processes|distributed|bullmq)/|^schedulers/index\\.ts$', pathNot: '^schedulers/$1/' },
    },
    {
      name: 'distributed-own-system',
      comment: 'distributed reuses the core (graph, ops, errors, sizes) but not the local engine or its executors',
      severity: 'error',
      from: { path: '^schedulers/distributed/' },
      to: { path: '^schedulers/(local|sync|threads|processes|bullmq)/|^schedulers/index\\.ts$' },
    },
    {
      name: 'workloads-use-the-public-graph-api',
      comment: 'workloads build graphs with the core helpers, never with a scheduler implementation',
      severity: 'error',
      from: { path: '^workloads/' },
      to: { path: '^schedulers/(local|sync|threads|processes|distributed|bullmq)/' },
    },
    {
      name: 'harness-measure-below-runner',
      comment: 'harness: measure/ is imported by runner/, runner/ by cli/, never the other way',
      severity: 'error',
      from: { path: '^harness/measure/' },
      to: { path: '^harness/(runner|cli)/' },
    },
    {
      name: 'harness-runner-below-cli',
      comment: 'harness: runner/ does not import the command line',
      severity: 'error',
      from: { path: '^harness/runner/' },
      to: { path: '^harness/cli/' },
    },
    {
      name: 'harness-calibrate-below-advise',
      comment: 'harness: calibrate/ is imported by advise/ and cli/, never the other way',
      severity: 'error',
      from: { path: '^harness/calibrate/' },
      to: { path: '^harness/(advise|cli)/' },
    },
    {
      name: 'harness-advise-below-cli',
      comment: 'harness: advise/ (the schedlab/advise entry) does not import the command line',
      severity: 'error',
      from: { path: '^harness/advise/' },
      to: { path: '^harness/cli/' },
    },
    {
      name: 'harness-bench-below-model-runs',
      comment: 'harness: measure/ and runner/ (the bench) know nothing of calibrate/ or advise/',
      severity: 'error',
      from: { path: '^harness/(measure|runner)/' },
      to: { path: '^harness/(calibrate|advise)/' },
    },
    {
      name: 'entry-files-are-loaded-by-path',
      comment: 'an entry file (*-thread.ts, *-process.ts) runs on the far side of a boundary: it is started by path, never imported (types excepted)',
      severity: 'error',
      from: {},
      to: { path: '-(thread|process)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
