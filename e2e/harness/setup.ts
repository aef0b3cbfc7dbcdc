// The setup most e2e files share: a control plane (and a Velero server) started in beforeAll and stopped
// in afterAll of the describe block (or file) that asks for it.
//
//   const env = useVelero();                 // control plane + Velero with our plugin, for the file
//   it('...', async () => { await env.cp.kube.create(...); await env.velero.velero([...]); });
//
//   const env = useControlPlane({ controllerManager: true });
//   describe('velero', () => { useVelero({ on: env }); ... });  // env.velero inside this describe only
import { afterAll, beforeAll } from 'vitest';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { makePluginDir, startVelero, type OurBuild, type Velero, type VeleroOptions } from './velero.ts';

/** What the tests use. Valid in hooks and tests after the setup's beforeAll, not while the file is collected. */
export interface E2eEnv {
  readonly cp: ControlPlane;
  readonly velero: Velero;
}

interface Started {
  cp?: ControlPlane | undefined;
  velero?: Velero | undefined;
}

const startedOf = new WeakMap<E2eEnv, Started>();

function notStarted(what: string): never {
  throw new Error(`${what} is not running here: use it inside tests and hooks of the scope that set it up (useControlPlane/useVelero)`);
}

/** Starts a control plane before the tests of the current scope and stops it after them. */
export function useControlPlane(opts: ControlPlaneOptions = {}): E2eEnv {
  const started: Started = {};
  const env: E2eEnv = {
    get cp() {
      return started.cp ?? notStarted('the control plane');
    },
    get velero() {
      return started.velero ?? notStarted('Velero');
    },
  };
  startedOf.set(env, started);
  beforeAll(async () => {
    started.cp = await startControlPlane(opts);
  });
  afterAll(async () => {
    await started.cp?.stop();
    started.cp = undefined;
  });
  return env;
}

export interface UseVeleroOptions extends Partial<VeleroOptions> {
  /** Run Velero on this control plane (for the current describe only); by default a new one is started. */
  on?: E2eEnv;
  /** Options of the new control plane (without `on`). */
  controlPlane?: ControlPlaneOptions;
  /** Which build of our plugin makePluginDir() installs (without `pluginDir`). Default 'product'. */
  build?: OurBuild;
}

/**
 * Starts a Velero server (our plugin and velero-plugin-for-aws from makePluginDir(), unless `pluginDir`
 * is given) before the tests of the current scope and stops it after them, on a control plane of its
 * own or on `on`'s.
 */
export function useVelero(opts: UseVeleroOptions = {}): E2eEnv {
  const { on, controlPlane, build, ...veleroOpts } = opts;
  const env = on ?? useControlPlane(controlPlane);
  const started = startedOf.get(env) ?? notStarted('a control plane from useControlPlane');
  beforeAll(async () => {
    started.velero = await startVelero(env.cp, { ...veleroOpts, pluginDir: veleroOpts.pluginDir ?? (await makePluginDir(build === undefined ? {} : { build })) });
  });
  afterAll(async () => {
    await started.velero?.stop();
    started.velero = undefined;
  });
  return env;
}
