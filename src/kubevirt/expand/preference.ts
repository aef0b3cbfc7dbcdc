// Applying a preference to a VM's template (KubeVirt v1.9.0, pkg/instancetype/preference/apply).
// Rule: a preference only fills what the VM leaves unset; it never overrides a VM value. Two
// exceptions kept from KubeVirt because its Go fields cannot tell "unset" from false:
// devices.disableHotplug and features.acpi are always taken from the preference when it has them.
import { arr, clone, ensureObj, type Obj, optObj, present, ShapeError, str } from './json-util.ts';

/**
 * KubeVirt releases whose semantics differ from v1.9.0:
 * - v1.7.x and v1.8.x do not know preferredVideoType and preferredLaunchSecurity, and only fill the
 *   model of panic devices the VM already has (v1.9 adds one when there is none);
 * - v1.6.x, in addition, does not know preferredArchitecture or the architecture requirement, does
 *   not apply the instance type's ioThreads, and treats any VM domain.memory as a conflict with the
 *   instance type (see instancetype.ts).
 */
export type KubevirtRelease = '1.9' | '1.8' | '1.7' | '1.6';

export function applyPreference(base: string, pref: Obj, vmiSpec: Obj, templateMeta: Obj, release: KubevirtRelease = '1.9'): void {
  const v19 = release === '1.9';
  const domain = ensureObj(vmiSpec, 'domain', base);
  const d = `${base}.domain`;
  applyCPUFeatures(d, pref, domain);
  applyDevices(d, pref, vmiSpec, domain, release);
  applyFeatures(d, pref, domain);
  applyFirmware(d, pref, domain);
  applyMachine(d, pref, domain);
  applyClock(d, pref, domain);
  if (str(vmiSpec['subdomain']) === '' && present(pref['preferredSubdomain'])) vmiSpec['subdomain'] = pref['preferredSubdomain'];
  if (present(pref['preferredTerminationGracePeriodSeconds']) && !present(vmiSpec['terminationGracePeriodSeconds'])) {
    vmiSpec['terminationGracePeriodSeconds'] = pref['preferredTerminationGracePeriodSeconds'];
  }
  if (release !== '1.6') applyArchitecture(pref, vmiSpec);
  applyAnnotations(pref, templateMeta);
  if (v19 && present(pref['preferredLaunchSecurity']) && !present(domain['launchSecurity'])) {
    domain['launchSecurity'] = clone(pref['preferredLaunchSecurity']);
  }
}

/** preferredArchitecture fills an empty spec.architecture (also done by KubeVirt's VM mutating webhook). */
export function applyArchitecture(pref: Obj, vmiSpec: Obj): void {
  if (str(pref['preferredArchitecture']) === '') return;
  if (str(vmiSpec['architecture']) === '') vmiSpec['architecture'] = pref['preferredArchitecture'];
}

export class NilCPUError extends ShapeError {
  constructor(path: string) {
    super(
      `${path}.cpu`,
      'the preference has preferredCPUFeatures but the VM has no domain.cpu and there is no instance type; ' +
        'KubeVirt v1.9.0 fails on this combination (nil pointer), so it cannot be expanded',
    );
  }
}

function applyCPUFeatures(d: string, pref: Obj, domain: Obj): void {
  const cpuPref = optObj(pref['cpu'], 'preference.spec.cpu');
  const wanted = arr(cpuPref?.['preferredCPUFeatures'], 'preference.spec.cpu.preferredCPUFeatures');
  if (wanted.length === 0) return;
  const cpu = optObj(domain['cpu'], `${d}.cpu`);
  if (cpu === undefined) throw new NilCPUError(d);
  const existing = arr(cpu['features'], `${d}.cpu.features`);
  // Names the user already set win; the set is taken before adding, as KubeVirt does.
  const names = new Set(existing.map((f) => str(optObj(f, `${d}.cpu.features[]`)?.['name'])));
  const out = [...existing];
  for (const f of wanted) {
    if (!names.has(str(optObj(f, 'preference.spec.cpu.preferredCPUFeatures[]')?.['name']))) out.push(clone(f));
  }
  if (out.length !== existing.length) cpu['features'] = out;
}

const AUTOATTACH: [string, string][] = [
  ['preferredAutoattachGraphicsDevice', 'autoattachGraphicsDevice'],
  ['preferredAutoattachMemBalloon', 'autoattachMemBalloon'],
  ['preferredAutoattachPodInterface', 'autoattachPodInterface'],
  ['preferredAutoattachSerialConsole', 'autoattachSerialConsole'],
  ['preferredAutoattachInputDevice', 'autoattachInputDevice'],
];

const DEVICE_BOOLS: [string, string][] = [
  ['preferredUseVirtioTransitional', 'useVirtioTransitional'],
  ['preferredBlockMultiQueue', 'blockMultiQueue'],
  ['preferredNetworkInterfaceMultiQueue', 'networkInterfaceMultiQueue'],
];

function applyDevices(d: string, pref: Obj, vmiSpec: Obj, domain: Obj, release: KubevirtRelease): void {
  const v19 = release === '1.9';
  const dp = optObj(pref['devices'], 'preference.spec.devices');
  if (dp === undefined) return;
  const devices = ensureObj(domain, 'devices', d);
  const dd = `${d}.devices`;
  for (const [from, to] of DEVICE_BOOLS) {
    if (present(dp[from]) && !present(devices[to])) devices[to] = dp[from];
  }
  // disableHotplug is a plain bool in KubeVirt, so the preference always wins (KubeVirt FIXME).
  if (present(dp['preferredDisableHotplug'])) devices['disableHotplug'] = dp['preferredDisableHotplug'];
  const sound = optObj(devices['sound'], `${dd}.sound`);
  if (str(dp['preferredSoundModel']) !== '' && sound !== undefined && str(sound['model']) === '') {
    sound['model'] = dp['preferredSoundModel'];
  }
  if (present(dp['preferredRng']) && !present(devices['rng'])) devices['rng'] = clone(dp['preferredRng']);
  if (present(dp['preferredTPM']) && !present(devices['tpm'])) devices['tpm'] = clone(dp['preferredTPM']);
  if (v19 && present(dp['preferredVideoType'])) {
    const video = ensureObj(devices, 'video', dd);
    if (str(video['type']) === '') video['type'] = dp['preferredVideoType'];
  }
  for (const [from, to] of AUTOATTACH) {
    if (present(dp[from]) && !present(devices[to])) devices[to] = dp[from];
  }
  applyDisks(dd, dp, devices);
  applyInterfaces(dd, dp, vmiSpec, devices, release);
  for (const input of arr(devices['inputs'], `${dd}.inputs`)) {
    const i = optObj(input, `${dd}.inputs[]`) ?? {};
    if (str(dp['preferredInputBus']) !== '' && str(i['bus']) === '') i['bus'] = dp['preferredInputBus'];
    if (str(dp['preferredInputType']) !== '' && str(i['type']) === '') i['type'] = dp['preferredInputType'];
  }
  applyPanicDevices(dd, dp, devices, v19);
}

function applyDisks(dd: string, dp: Obj, devices: Obj): void {
  for (const entry of arr(devices['disks'], `${dd}.disks`)) {
    const disk = optObj(entry, `${dd}.disks[]`) ?? {};
    // A disk with no target type is a "disk" target, so the disk preferences apply to it.
    if (!present(disk['disk']) && !present(disk['cdrom']) && !present(disk['lun'])) disk['disk'] = {};
    const target = optObj(disk['disk'], `${dd}.disks[].disk`);
    if (target !== undefined) {
      if (str(dp['preferredDiskBus']) !== '' && str(target['bus']) === '') target['bus'] = dp['preferredDiskBus'];
      if (present(dp['preferredDiskBlockSize']) && !present(disk['blockSize'])) disk['blockSize'] = clone(dp['preferredDiskBlockSize']);
      if (str(dp['preferredDiskCache']) !== '' && str(disk['cache']) === '') disk['cache'] = dp['preferredDiskCache'];
      if (str(dp['preferredDiskIO']) !== '' && str(disk['io']) === '') disk['io'] = dp['preferredDiskIO'];
      // A dedicated IO thread only makes sense on virtio, checked after the preferred bus is applied.
      if (present(dp['preferredDiskDedicatedIoThread']) && !present(disk['dedicatedIOThread']) && str(target['bus']) === 'virtio') {
        disk['dedicatedIOThread'] = dp['preferredDiskDedicatedIoThread'];
      }
      continue;
    }
    const cdrom = optObj(disk['cdrom'], `${dd}.disks[].cdrom`);
    if (cdrom !== undefined) {
      if (str(dp['preferredCdromBus']) !== '' && str(cdrom['bus']) === '') cdrom['bus'] = dp['preferredCdromBus'];
      continue;
    }
    const lun = optObj(disk['lun'], `${dd}.disks[].lun`);
    if (lun !== undefined && str(dp['preferredLunBus']) !== '' && str(lun['bus']) === '') lun['bus'] = dp['preferredLunBus'];
  }
}

const BINDING_KEYS = ['bridge', 'slirp', 'masquerade', 'sriov', 'macvtap', 'passt', 'passtBinding', 'binding'];
// v1.6's API has no passtBinding, so such an interface counts as unbound there.
const BINDING_KEYS_V16 = BINDING_KEYS.filter((k) => k !== 'passtBinding');

function applyInterfaces(dd: string, dp: Obj, vmiSpec: Obj, devices: Obj, release: KubevirtRelease): void {
  const bindings = release === '1.6' ? BINDING_KEYS_V16 : BINDING_KEYS;
  const networks = arr(vmiSpec['networks'], 'spec.template.spec.networks');
  for (const entry of arr(devices['interfaces'], `${dd}.interfaces`)) {
    const iface = optObj(entry, `${dd}.interfaces[]`) ?? {};
    if (str(dp['preferredInterfaceModel']) !== '' && str(iface['model']) === '') iface['model'] = dp['preferredInterfaceModel'];
    if (present(dp['preferredInterfaceMasquerade']) && bindings.every((k) => !present(iface[k])) && onPodNetwork(str(iface['name']), networks)) {
      iface['masquerade'] = clone(dp['preferredInterfaceMasquerade']);
    }
  }
}

/** The first network with the interface's name decides; only a pod network gets masquerade. */
function onPodNetwork(name: string, networks: unknown[]): boolean {
  for (const n of networks) {
    const net = optObj(n, 'spec.template.spec.networks[]') ?? {};
    if (str(net['name']) === name) return present(net['pod']);
  }
  return false;
}

function applyPanicDevices(dd: string, dp: Obj, devices: Obj, v19: boolean): void {
  if (!present(dp['preferredPanicDeviceModel'])) return;
  const list = arr(devices['panicDevices'], `${dd}.panicDevices`);
  if (list.length === 0) {
    if (!v19) return;
    devices['panicDevices'] = [{ model: dp['preferredPanicDeviceModel'] }];
    return;
  }
  for (const entry of list) {
    const dev = optObj(entry, `${dd}.panicDevices[]`) ?? {};
    if (!present(dev['model'])) dev['model'] = dp['preferredPanicDeviceModel'];
  }
}

const HYPERV_KEYS = [
  'evmcs',
  'frequencies',
  'ipi',
  'reenlightenment',
  'relaxed',
  'reset',
  'runtime',
  'spinlocks',
  'synic',
  'synictimer',
  'tlbflush',
  'vapic',
  'vpindex',
  'vendorid',
];

function applyFeatures(d: string, pref: Obj, domain: Obj): void {
  const fp = optObj(pref['features'], 'preference.spec.features');
  if (fp === undefined) return;
  const features = ensureObj(domain, 'features', d);
  // acpi is a plain struct in KubeVirt, so the preference always wins (KubeVirt FIXME).
  if (present(fp['preferredAcpi'])) features['acpi'] = clone(fp['preferredAcpi']);
  if (present(fp['preferredApic']) && !present(features['apic'])) features['apic'] = clone(fp['preferredApic']);
  const hvPref = optObj(fp['preferredHyperv'], 'preference.spec.features.preferredHyperv');
  if (hvPref !== undefined) {
    const hv = ensureObj(features, 'hyperv', `${d}.features`);
    for (const key of HYPERV_KEYS) {
      if (present(hvPref[key]) && !present(hv[key])) hv[key] = clone(hvPref[key]);
    }
  }
  if (present(fp['preferredKvm']) && !present(features['kvm'])) features['kvm'] = clone(fp['preferredKvm']);
  if (present(fp['preferredPvspinlock']) && !present(features['pvspinlock'])) features['pvspinlock'] = clone(fp['preferredPvspinlock']);
  if (present(fp['preferredSmm']) && !present(features['smm'])) features['smm'] = clone(fp['preferredSmm']);
}

function applyFirmware(d: string, pref: Obj, domain: Obj): void {
  const fw = optObj(pref['firmware'], 'preference.spec.firmware');
  if (fw === undefined) return;
  const firmware = ensureObj(domain, 'firmware', d);
  const boot = ensureObj(firmware, 'bootloader', `${d}.firmware`);
  if (fw['preferredUseBios'] === true && !present(boot['bios']) && !present(boot['efi'])) boot['bios'] = {};
  const bios = optObj(boot['bios'], `${d}.firmware.bootloader.bios`);
  if (present(fw['preferredUseBiosSerial']) && bios !== undefined && !present(bios['useSerial'])) {
    bios['useSerial'] = fw['preferredUseBiosSerial'];
  }
  if (!present(boot['efi']) && !present(boot['bios']) && present(fw['preferredEfi'])) {
    boot['efi'] = clone(fw['preferredEfi']);
    // preferredEfi replaces the deprecated preferredUseEfi / preferredUseSecureBoot entirely.
    return;
  }
  if (fw['preferredUseEfi'] === true && !present(boot['efi']) && !present(boot['bios'])) boot['efi'] = {};
  const efi = optObj(boot['efi'], `${d}.firmware.bootloader.efi`);
  if (present(fw['preferredUseSecureBoot']) && efi !== undefined && !present(efi['secureBoot'])) {
    efi['secureBoot'] = fw['preferredUseSecureBoot'];
  }
}

function applyMachine(d: string, pref: Obj, domain: Obj): void {
  const mp = optObj(pref['machine'], 'preference.spec.machine');
  if (mp === undefined || str(mp['preferredMachineType']) === '') return;
  const machine = ensureObj(domain, 'machine', d);
  if (str(machine['type']) === '') machine['type'] = mp['preferredMachineType'];
}

function applyClock(d: string, pref: Obj, domain: Obj): void {
  const cp = optObj(pref['clock'], 'preference.spec.clock');
  if (cp === undefined) return;
  const clock = ensureObj(domain, 'clock', d);
  const offset = optObj(cp['preferredClockOffset'], 'preference.spec.clock.preferredClockOffset');
  // The offset is taken whole, and only when the VM sets neither utc nor timezone.
  if (offset !== undefined && !present(clock['utc']) && !present(clock['timezone'])) {
    delete clock['utc'];
    delete clock['timezone'];
    if (present(offset['utc'])) clock['utc'] = clone(offset['utc']);
    if (present(offset['timezone'])) clock['timezone'] = offset['timezone'];
  }
  if (present(cp['preferredTimer']) && !present(clock['timer'])) clock['timer'] = clone(cp['preferredTimer']);
}

function applyAnnotations(pref: Obj, templateMeta: Obj): void {
  const wanted = optObj(pref['annotations'], 'preference.spec.annotations');
  if (wanted === undefined) return;
  const entries = Object.entries(wanted);
  if (entries.length === 0) return;
  const target = ensureObj(templateMeta, 'annotations', 'spec.template.metadata');
  for (const [key, value] of entries) {
    if (!Object.prototype.hasOwnProperty.call(target, key)) target[key] = value;
  }
}
