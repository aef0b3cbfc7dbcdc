// Additional items already handed to Velero in one backup, so that an object many VMs need (a cluster
// instance type, a preference, a secret they share) is returned once per backup instead of once per
// VM. Velero GETs every additional item from the API server before it notices that the item is
// already in the backup, so 1,000 VMs naming one instance type cost it 1,000 GETs.
//
// Why skipping is safe: Velero backs up the additional items of an Execute right after that Execute
// returns (pkg/backup/item_backupper.go, executeActions), for every item whose own action finished,
// whatever worker of --item-block-worker-count runs it. Only what an Execute actually returned is
// recorded (a refused VM returns nothing, and a filtered-out VM never reaches the action), so the
// first VM that names an object always brings it. Velero's filters apply to an additional item
// the same way whichever VM returns it, except that `backup.velero.io/must-include-additional-items`
// on the returned VM lifts them: an item returned without it does not count for a VM that has it.
//
// Pure bookkeeping; the graph (backup-graph.ts) still lists every item a VM needs.
import type { ResourceIdentifier } from '../velero/types.ts';

/** Velero's annotation on a returned item that makes it skip its filters for the item's additional items. */
export const MUST_INCLUDE_ADDITIONAL_ITEMS = 'backup.velero.io/must-include-additional-items';

function itemKey(id: ResourceIdentifier): string {
  return `${id.group}/${id.resource}/${id.namespace}/${id.name}`;
}

export class ReturnedItems {
  /** Returned by a VM whose filters applied; by a VM with must-include. */
  private readonly filtered = new Set<string>();
  private readonly mustInclude = new Set<string>();

  /** The items Velero has not been given yet in this backup (under the same filter rules). */
  notYetReturned(items: readonly ResourceIdentifier[], mustInclude: boolean): ResourceIdentifier[] {
    return items.filter((id) => {
      const key = itemKey(id);
      // An item brought past the filters counts for everyone; one subject to them only for VMs alike.
      return !this.mustInclude.has(key) && (mustInclude || !this.filtered.has(key));
    });
  }

  /** Call only once Execute hands `items` to Velero. */
  record(items: readonly ResourceIdentifier[], mustInclude: boolean): void {
    const set = mustInclude ? this.mustInclude : this.filtered;
    for (const id of items) set.add(itemKey(id));
  }
}
