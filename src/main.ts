// The plugin binary. Read it as the list of what the plugin offers: every action is registered under
// the reference plugin's name (kubevirt-velero-plugin/...) so that this binary is a drop-in replacement.
import { runFromCommandLine } from './host/entry.ts';
import { runInstall } from './host/install.ts';
import { PluginHost } from './host/plugin-host.ts';

const plugin = new PluginHost();

runFromCommandLine(plugin, { install: runInstall });
