// Which additional items a VM still has to hand to Velero when earlier VMs of the backup returned some.
import { describe, expect, it } from 'vitest';
import { ReturnedItems } from '../../src/kubevirt/backup-returned.ts';
import type { ResourceIdentifier } from '../../src/velero/types.ts';

const clusterIt: ResourceIdentifier = { group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterinstancetypes', namespace: '', name: 'u1.small' };
const secret: ResourceIdentifier = { group: '', resource: 'secrets', namespace: 'apps', name: 'ssh-keys' };
const revision = (vm: string): ResourceIdentifier => ({ group: 'apps', resource: 'controllerrevisions', namespace: 'apps', name: `${vm}-u1.small-1` });

describe('ReturnedItems', () => {
  const cases: { name: string; earlier: { items: ResourceIdentifier[]; mustInclude: boolean }[]; now: { items: ResourceIdentifier[]; mustInclude: boolean }; want: ResourceIdentifier[] }[] = [
    { name: 'the first VM returns everything', earlier: [], now: { items: [clusterIt, secret, revision('a')], mustInclude: false }, want: [clusterIt, secret, revision('a')] },
    {
      name: 'a later VM leaves out what an earlier one returned, keeps its own',
      earlier: [{ items: [clusterIt, secret, revision('a')], mustInclude: false }],
      now: { items: [clusterIt, secret, revision('b')], mustInclude: false },
      want: [revision('b')],
    },
    {
      name: 'a VM with must-include-additional-items still returns what another VM returned under the filters',
      earlier: [{ items: [clusterIt], mustInclude: false }],
      now: { items: [clusterIt, revision('b')], mustInclude: true },
      want: [clusterIt, revision('b')],
    },
    {
      name: 'what a must-include VM returned counts for every later VM',
      earlier: [{ items: [clusterIt], mustInclude: true }],
      now: { items: [clusterIt], mustInclude: false },
      want: [],
    },
    {
      name: 'nothing recorded (a refused or filtered-out VM) means nothing left out',
      earlier: [{ items: [], mustInclude: false }],
      now: { items: [clusterIt], mustInclude: false },
      want: [clusterIt],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const returned = new ReturnedItems();
      for (const e of c.earlier) returned.record(returned.notYetReturned(e.items, e.mustInclude), e.mustInclude);
      expect(returned.notYetReturned(c.now.items, c.now.mustInclude)).toEqual(c.want);
    });
  }
});
