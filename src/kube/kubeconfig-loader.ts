// The one place that loads @kubernetes/client-node. client.ts imports this file dynamically, on the
// first API request, so that the library's modules are evaluated only in a plugin process that talks
// to the cluster (most processes Velero starts only list plugins, or run actions that never call the
// API). Imported statically from here, the bundler still keeps only the parts KubeConfig needs.
import { KubeConfig } from '@kubernetes/client-node';

export function newKubeConfig(): KubeConfig {
  return new KubeConfig();
}
