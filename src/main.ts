// The plugin binary's entry point. Read it as the list of what the plugin offers.
// (The host runtime and the actions are being built; see the issues.)
export {};
