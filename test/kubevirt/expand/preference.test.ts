// What a preference does to a VM (KubeVirt v1.9.0). A preference only fills what the VM leaves
// unset — the "kept" column shows the VM's own value winning. Checked against KubeVirt's own code by
// test/oracle/expand-differential.test.ts.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine } from '../../../src/kubevirt/expand/index.ts';
import { conflictsOf, templateAfter, vmWith } from './helpers.ts';

type O = Record<string, unknown>;
const after = (templateSpec: O, preference: O): O => templateAfter(templateSpec, undefined, preference);
const devicesAfter = (devices: O, preference: O, extra: O = {}): O => (after({ domain: { devices }, ...extra }, { devices: preference })['domain'] as O)['devices'] as O;

describe('preference: devices', () => {
  it.each<[string, O, O, O]>([
    // [what, VM devices, preference devices, resulting devices (subset)]
    ['disk bus fills disks without a bus', { disks: [{ name: 'a', disk: {} }, { name: 'b', disk: { bus: 'sata' } }] }, { preferredDiskBus: 'virtio' }, { disks: [{ name: 'a', disk: { bus: 'virtio' } }, { name: 'b', disk: { bus: 'sata' } }] }],
    ['a disk without target type becomes a disk', { disks: [{ name: 'a' }] }, { preferredDiskBus: 'virtio' }, { disks: [{ name: 'a', disk: { bus: 'virtio' } }] }],
    ['cdrom and lun buses', { disks: [{ name: 'c', cdrom: {} }, { name: 'l', lun: {} }] }, { preferredCdromBus: 'sata', preferredLunBus: 'scsi', preferredDiskBus: 'virtio' }, { disks: [{ name: 'c', cdrom: { bus: 'sata' } }, { name: 'l', lun: { bus: 'scsi' } }] }],
    ['cache, io and block size fill disks', { disks: [{ name: 'a', disk: {} }, { name: 'b', disk: {}, cache: 'none' }] }, { preferredDiskCache: 'writeback', preferredDiskIO: 'native', preferredDiskBlockSize: { matchVolume: {} } }, { disks: [{ name: 'a', disk: {}, cache: 'writeback', io: 'native', blockSize: { matchVolume: {} } }, { name: 'b', disk: {}, cache: 'none', io: 'native', blockSize: { matchVolume: {} } }] }],
    ['dedicated IO thread only on virtio disks (after the preferred bus)', { disks: [{ name: 'a' }, { name: 'b', disk: { bus: 'sata' } }] }, { preferredDiskBus: 'virtio', preferredDiskDedicatedIoThread: true }, { disks: [{ name: 'a', disk: { bus: 'virtio' }, dedicatedIOThread: true }, { name: 'b', disk: { bus: 'sata' } }] }],
    ['interface model fills interfaces', { interfaces: [{ name: 'default', masquerade: {} }, { name: 'x', bridge: {}, model: 'e1000' }] }, { preferredInterfaceModel: 'virtio' }, { interfaces: [{ name: 'default', masquerade: {}, model: 'virtio' }, { name: 'x', bridge: {}, model: 'e1000' }] }],
    ['input bus and type', { inputs: [{ name: 't' }, { name: 'k', bus: 'ps2', type: 'keyboard' }] }, { preferredInputBus: 'usb', preferredInputType: 'tablet' }, { inputs: [{ name: 't', bus: 'usb', type: 'tablet' }, { name: 'k', bus: 'ps2', type: 'keyboard' }] }],
    ['sound model only for an existing sound device', { sound: { name: 's' } }, { preferredSoundModel: 'ich9' }, { sound: { name: 's', model: 'ich9' } }],
    ['TPM and RNG when the VM has none', {}, { preferredTPM: { persistent: true }, preferredRng: {} }, { tpm: { persistent: true }, rng: {} }],
    ['TPM kept', { tpm: {} }, { preferredTPM: { persistent: true } }, { tpm: {} }],
    ['video type', {}, { preferredVideoType: 'virtio' }, { video: { type: 'virtio' } }],
    ['video type kept', { video: { type: 'vga' } }, { preferredVideoType: 'virtio' }, { video: { type: 'vga' } }],
    ['panic device added when there is none', {}, { preferredPanicDeviceModel: 'hyperv' }, { panicDevices: [{ model: 'hyperv' }] }],
    ['panic model fills devices without one', { panicDevices: [{}, { model: 'isa' }] }, { preferredPanicDeviceModel: 'hyperv' }, { panicDevices: [{ model: 'hyperv' }, { model: 'isa' }] }],
    ['autoattach flags fill unset ones', { autoattachGraphicsDevice: false }, { preferredAutoattachGraphicsDevice: true, preferredAutoattachMemBalloon: false, preferredAutoattachSerialConsole: true, preferredAutoattachInputDevice: true }, { autoattachGraphicsDevice: false, autoattachMemBalloon: false, autoattachSerialConsole: true, autoattachInputDevice: true }],
    ['virtio transitional, block and network multiqueue', { blockMultiQueue: false }, { preferredUseVirtioTransitional: true, preferredBlockMultiQueue: true, preferredNetworkInterfaceMultiQueue: true }, { useVirtioTransitional: true, blockMultiQueue: false, networkInterfaceMultiQueue: true }],
    ['disableHotplug always follows the preference (a plain bool in KubeVirt)', { disableHotplug: true }, { preferredDisableHotplug: false }, { disableHotplug: false }],
  ])('%s', (_name, devices, preference, expected) => {
    expect(devicesAfter(devices, preference, { volumes: [] })).toMatchObject(expected);
  });

  it('masquerade only for interfaces without a binding on the pod network', () => {
    const devices = devicesAfter(
      { interfaces: [{ name: 'pod' }, { name: 'multus' }, { name: 'bound', bridge: {} }, { name: 'plugin', binding: { name: 'passt' } }] },
      { preferredInterfaceMasquerade: {} },
      { networks: [{ name: 'pod', pod: {} }, { name: 'multus', multus: { networkName: 'n' } }, { name: 'bound', pod: {} }, { name: 'plugin', pod: {} }] },
    );
    expect(devices['interfaces']).toEqual([{ name: 'pod', masquerade: {} }, { name: 'multus' }, { name: 'bound', bridge: {} }, { name: 'plugin', binding: { name: 'passt' } }]);
  });

  it('every volume without a disk gets one first, so the preferred bus reaches it', () => {
    expect(after({ volumes: [{ name: 'root', containerDisk: { image: 'i' } }] }, { devices: { preferredDiskBus: 'virtio' } })['domain']).toMatchObject({
      devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] },
    });
  });

  it('a VM without interfaces and networks gets the default pod interface first, so the preferred model reaches it', () => {
    const spec = after({}, { devices: { preferredInterfaceModel: 'virtio' } });
    expect(spec['networks']).toEqual([{ name: 'default', pod: {} }]);
    expect((spec['domain'] as O)['devices']).toEqual({ interfaces: [{ name: 'default', bridge: {}, model: 'virtio' }] });
  });

  it('no default interface when the VM turns the pod interface off', () => {
    expect(after({ domain: { devices: { autoattachPodInterface: false } } }, { devices: { preferredInterfaceModel: 'virtio' } })['networks']).toBeUndefined();
  });
});

describe('preference: features, firmware, clock, machine and the rest', () => {
  it.each<[string, O, O, O]>([
    // [what, VM domain, preference, resulting domain (subset)]
    ['features fill unset ones', { features: { smm: { enabled: false } } }, { features: { preferredSmm: {}, preferredApic: {}, preferredKvm: { hidden: true }, preferredPvspinlock: {} } }, { features: { smm: { enabled: false }, apic: {}, kvm: { hidden: true }, pvspinlock: {} } }],
    ['acpi always follows the preference (a plain struct in KubeVirt)', { features: { acpi: { enabled: false } } }, { features: { preferredAcpi: {} } }, { features: { acpi: {} } }],
    ['Hyper-V enlightenments fill one by one', { features: { hyperv: { relaxed: { enabled: false } } } }, { features: { preferredHyperv: { relaxed: {}, vapic: {}, spinlocks: { spinlocks: 8191 } } } }, { features: { hyperv: { relaxed: { enabled: false }, vapic: {}, spinlocks: { spinlocks: 8191 } } } }],
    ['EFI from preferredEfi', {}, { firmware: { preferredEfi: { secureBoot: true, persistent: true } } }, { firmware: { bootloader: { efi: { secureBoot: true, persistent: true } } } }],
    ['preferredEfi ignores the deprecated EFI flags', {}, { firmware: { preferredEfi: {}, preferredUseSecureBoot: true } }, { firmware: { bootloader: { efi: {} } } }],
    ['deprecated preferredUseEfi + preferredUseSecureBoot', {}, { firmware: { preferredUseEfi: true, preferredUseSecureBoot: false } }, { firmware: { bootloader: { efi: { secureBoot: false } } } }],
    ['BIOS with serial', {}, { firmware: { preferredUseBios: true, preferredUseBiosSerial: true } }, { firmware: { bootloader: { bios: { useSerial: true } } } }],
    ['the VM’s bootloader is kept', { firmware: { bootloader: { bios: {} } } }, { firmware: { preferredEfi: {} } }, { firmware: { bootloader: { bios: {} } } }],
    ['secure boot added to the VM’s own EFI', { firmware: { bootloader: { efi: {} } } }, { firmware: { preferredUseSecureBoot: true } }, { firmware: { bootloader: { efi: { secureBoot: true } } } }],
    ['machine type', {}, { machine: { preferredMachineType: 'q35' } }, { machine: { type: 'q35' } }],
    ['machine type kept', { machine: { type: 'pc-q35-rhel9.4.0' } }, { machine: { preferredMachineType: 'q35' } }, { machine: { type: 'pc-q35-rhel9.4.0' } }],
    ['clock offset and timers', {}, { clock: { preferredClockOffset: { utc: {} }, preferredTimer: { hpet: { present: false } } } }, { clock: { utc: {}, timer: { hpet: { present: false } } } }],
    ['the VM’s offset is kept whole (no mixing utc and timezone)', { clock: { timezone: 'UTC' } }, { clock: { preferredClockOffset: { utc: { offsetSeconds: 60 } } } }, { clock: { timezone: 'UTC' } }],
    ['launch security', {}, { preferredLaunchSecurity: { sev: {} } }, { launchSecurity: { sev: {} } }],
  ])('%s', (_name, domain, preference, expected) => {
    expect(after({ domain, volumes: [] }, preference)['domain']).toMatchObject(expected);
  });

  it.each<[string, O, O, O]>([
    ['subdomain', {}, { preferredSubdomain: 'svc' }, { subdomain: 'svc' }],
    ['subdomain kept', { subdomain: 'mine' }, { preferredSubdomain: 'svc' }, { subdomain: 'mine' }],
    ['termination grace period', {}, { preferredTerminationGracePeriodSeconds: 3600 }, { terminationGracePeriodSeconds: 3600 }],
    ['termination grace period 0 kept', { terminationGracePeriodSeconds: 0 }, { preferredTerminationGracePeriodSeconds: 3600 }, { terminationGracePeriodSeconds: 0 }],
    ['architecture', {}, { preferredArchitecture: 'arm64' }, { architecture: 'arm64' }],
    ['architecture kept', { architecture: 'amd64' }, { preferredArchitecture: 'arm64' }, { architecture: 'amd64' }],
  ])('%s', (_name, templateSpec, preference, expected) => {
    expect(after({ ...templateSpec, volumes: [] }, preference)).toMatchObject(expected);
  });

  it('CPU features are added unless the VM names them already', () => {
    const domain = templateAfter({ domain: { cpu: { features: [{ name: 'vmx', policy: 'disable' }] } } }, { cpu: { guest: 1 }, memory: { guest: '1Gi' } }, {
      cpu: { preferredCPUFeatures: [{ name: 'vmx', policy: 'require' }, { name: 'pcid' }] },
    })['domain'] as O;
    expect((domain['cpu'] as O)['features']).toEqual([{ name: 'vmx', policy: 'disable' }, { name: 'pcid' }]);
  });

  it('CPU features without an instance type and without domain.cpu: KubeVirt fails (nil pointer), so do we', () => {
    const r = expandVirtualMachine(vmWith({}, { it: false }), undefined, { cpu: { preferredCPUFeatures: [{ name: 'vmx' }] } });
    expect(conflictsOf(r)).toEqual(['spec.template.spec.domain.cpu']);
  });

  it('annotations never override the VM’s', () => {
    const r = expandVirtualMachine(vmWith({}, { it: false, templateMeta: { annotations: { a: 'mine' } } }), undefined, { annotations: { a: 'pref', b: 'pref' } });
    expect(r.ok && (r.vm['spec'] as { template: { metadata: O } }).template.metadata).toEqual({ annotations: { a: 'mine', b: 'pref' } });
  });

  it('preferred storage class fills data volume templates without one (the VM mutating webhook’s step)', () => {
    const vm = vmWith({}, { it: false, spec: { dataVolumeTemplates: [{ spec: { storage: {} } }, { spec: { pvc: { storageClassName: 'slow' } } }] } });
    const r = expandVirtualMachine(vm, undefined, { volumes: { preferredStorageClassName: 'fast' } });
    expect(r.ok && (r.vm['spec'] as O)['dataVolumeTemplates']).toEqual([{ spec: { storage: { storageClassName: 'fast' } } }, { spec: { pvc: { storageClassName: 'slow' } } }]);
  });
});

describe('older KubeVirt releases (kubevirtRelease option)', () => {
  const pref = { devices: { preferredVideoType: 'virtio', preferredPanicDeviceModel: 'hyperv' }, preferredLaunchSecurity: { sev: {} } };
  it.each<[string, '1.9' | '1.8' | '1.7', O]>([
    ['1.9 applies video type, launch security and adds a panic device', '1.9', { launchSecurity: { sev: {} }, devices: { video: { type: 'virtio' }, panicDevices: [{ model: 'hyperv' }] } }],
    ['1.8 knows none of them (checked against v1.8.4)', '1.8', { devices: {} }],
    ['1.7 is the same as 1.8', '1.7', { devices: {} }],
  ])('%s', (_name, kubevirtRelease, domain) => {
    const r = expandVirtualMachine(vmWith({ domain: { devices: {} } }, { it: false }), undefined, pref, { kubevirtRelease, defaultNetworkInterface: 'bridge' });
    const spec = r.ok ? ((r.vm['spec'] as O)['template'] as O)['spec'] as O : {};
    const d = spec['domain'] as O;
    delete (d['devices'] as O)['interfaces'];
    expect(d).toEqual(domain);
  });

  it.each<[string, '1.9' | '1.6', string[]]>([
    ['1.9: a VM memory section without guest/hugepages/maxGuest is fine', '1.9', []],
    ['1.6: any VM memory section conflicts with an instance type', '1.6', ['spec.template.spec.domain.memory']],
  ])('%s', (_name, kubevirtRelease, paths) => {
    const r = expandVirtualMachine(vmWith({ domain: { memory: { reservedOverhead: {} } } }, { pref: false }), { cpu: { guest: 1 }, memory: { guest: '1Gi' } }, undefined, { kubevirtRelease });
    expect(r.ok ? [] : r.conflicts.map((c) => c.path)).toEqual(paths);
  });

  it('1.6 applies neither the instance type’s IO thread pool nor the preferred architecture', () => {
    const it1 = { cpu: { guest: 1 }, memory: { guest: '1Gi' }, ioThreads: { supplementalPoolThreadCount: 4 } };
    const r = expandVirtualMachine(vmWith({}), it1, { preferredArchitecture: 'arm64' }, { kubevirtRelease: '1.6' });
    const spec = r.ok ? (((r.vm['spec'] as O)['template'] as O)['spec'] as O) : {};
    expect(spec['architecture']).toBeUndefined();
    expect((spec['domain'] as O)['ioThreads']).toBeUndefined();
  });

  it('1.8 still fills the model of panic devices the VM has', () => {
    const r = expandVirtualMachine(vmWith({ domain: { devices: { panicDevices: [{}] } } }, { it: false }), undefined, pref, { kubevirtRelease: '1.8' });
    expect(r.ok && ((((r.vm['spec'] as O)['template'] as O)['spec'] as O)['domain'] as O)['devices']).toMatchObject({ panicDevices: [{ model: 'hyperv' }] });
  });
});
