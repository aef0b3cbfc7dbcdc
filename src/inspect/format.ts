// inspect's output for people: one block per VM, what a restore would do under each policy, and a
// verdict line. (`--output json` prints the InspectReport itself.)
import type { InspectReport, MatcherReport, RevisionSource, ScenarioReport, VmReport, VolumeReport } from './predict.ts';

const SOURCE_TEXT: Record<RevisionSource, string> = {
  backup: 'in the backup',
  'target-cluster': 'already in the target cluster',
  'embedded-copy': 'embedded copy (exact)',
  'current-object': 'only the current object (not exact)',
  nowhere: 'NOWHERE',
};

const yesNo = (b: boolean | undefined): string => (b === undefined ? '?' : b ? 'yes' : 'no');

function matcherLines(m: MatcherReport): string[] {
  const where = [`object in backup: ${yesNo(m.objectInBackup)}`];
  if (m.objectInTargetCluster !== undefined) where.push(`in target cluster: ${yesNo(m.objectInTargetCluster)}`);
  const lines = [`  ${m.role}: ${m.kind} ${m.name} (${where.join(', ')})`];
  if (m.revision === undefined) {
    lines.push('    revision: none recorded (KubeVirt stores one from the object when the VM starts)');
  } else {
    const r = m.revision;
    const facts = [`in backup: ${yesNo(r.inBackup)}`, `embedded copy: ${yesNo(r.embeddedCopy)}`];
    if (r.inTargetCluster !== undefined) facts.push(`in target cluster: ${yesNo(r.inTargetCluster)}`);
    lines.push(`    revision ${r.name}`, `      a restore gets it from: ${SOURCE_TEXT[r.source]} (${facts.join(', ')})`);
  }
  return lines;
}

function volumeLine(v: VolumeReport): string {
  const parts = [`in backup: ${yesNo(v.inBackup)}`];
  if (v.inTargetCluster !== undefined) parts.push(`in target namespace: ${yesNo(v.inTargetCluster)}`);
  if (v.fromTemplate) parts.push('from dataVolumeTemplates');
  if (v.storageClass !== undefined) {
    parts.push(`storage class ${v.storageClass}${v.storageClassInTargetCluster === undefined ? '' : ` (in target cluster: ${yesNo(v.storageClassInTargetCluster)})`}`);
  }
  return `    ${v.volume === '' ? '(access credential)' : v.volume}: ${v.kind} ${v.name} (${parts.join(', ')})`;
}

function scenarioLine(s: ScenarioReport, selected: boolean): string[] {
  const revisions = s.revisions.length > 0 ? ` [${s.revisions.map((r) => `${r.role} revision ${r.outcome}`).join(', ')}]` : '';
  const result = s.result === 'refused' ? 'refused (a restore error names it)' : s.result;
  const lines = [`    ${selected ? '*' : ' '} ${s.scenario.padEnd(32)} ${result}${revisions} -> ${s.runnable ? 'runnable' : 'NOT runnable'}`];
  for (const note of s.notes) lines.push(`        ${note}`);
  return lines;
}

function vmBlock(vm: VmReport): string[] {
  const target = vm.targetNamespace === vm.namespace ? '' : ` -> ${vm.targetNamespace}/${vm.name}`;
  const lines = [`VM ${vm.namespace}/${vm.name}${target}`, `  run strategy: ${vm.runStrategy}`];
  lines.push(
    vm.labelled
      ? `  restore it alone: velero restore create --from-backup <backup> --selector ${vm.selector}`
      : `  restore it alone: not possible by name (backed up without this plugin's ${vm.selector.split('=')[0] ?? ''} label)`,
  );
  if (vm.matchers.length === 0) lines.push('  instancetype / preference: none');
  for (const m of vm.matchers) lines.push(...matcherLines(m));
  lines.push(vm.volumes.length === 0 ? '  volumes: none that refer to objects' : '  volumes:');
  for (const v of vm.volumes) lines.push(volumeLine(v));
  lines.push(vm.nads.length === 0 ? '  NADs: none' : `  NADs: ${vm.nads.map((n) => `${n.namespace}/${n.name} (in backup: ${yesNo(n.inBackup)})`).join(', ')}`);
  for (const p of vm.problems) lines.push(`  problem: ${p}`);
  lines.push('  restore outcome:');
  for (const s of vm.scenarios) lines.push(...scenarioLine(s, s === vm.selected));
  return lines;
}

export function formatReport(report: InspectReport): string {
  const lines = [
    `backup format ${report.formatVersion ?? 'unknown'}, ${report.items} items, ${report.vms.length} VirtualMachine(s); ` +
      (report.clusterChecked ? 'target cluster checked' : 'no target cluster checked (an empty target is assumed)'),
  ];
  if (report.namespaces !== undefined) {
    const entries = Object.entries(report.namespaces);
    if (entries.length > 0) lines.push(`target namespaces: ${entries.map(([ns, exists]) => `${ns} (${exists ? 'exists' : 'created by the restore'})`).join(', ')}`);
  }
  for (const vm of report.vms) lines.push('', ...vmBlock(vm));
  const refused = report.vms.filter((v) => !v.selected.runnable).map((v) => `${v.targetNamespace}/${v.name}`);
  lines.push(
    '',
    report.allRunnable
      ? `verdict (${report.judgedBy}): every VM would come back runnable`
      : `verdict (${report.judgedBy}): NOT runnable after a restore: ${refused.join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
