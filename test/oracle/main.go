// Command expand-oracle runs KubeVirt's own instance type / preference code on JSON inputs so the
// TypeScript expansion can be compared with it (differential test). It is our own program: it only
// calls KubeVirt's exported packages, it does not re-implement anything.
//
// Input (stdin): one JSON object per line:
//
//	{"id": "...", "vm": {...VirtualMachine...}, "instancetype": {...v1beta1 spec...}|null, "preference": {...}|null}
//
// Output (stdout): one JSON object per line, in input order:
//
//	{"id": "...",
//	 "apply":  {"ok": true, "vm": {...}} | {"ok": false, "conflicts": [{"path": "...", "message": "..."}]},
//	 "expand": same shape, or {"ok": false, "error": "..."},
//	 "admit":  {"ok": true} | {"ok": false, "conflicts": [...], "error": "..."}}
//
// A line {"id": "...", "normalize": {...VirtualMachine...}} is answered with {"id": "...", "vm": {...}}:
// the VM decoded into KubeVirt's Go types and encoded again (canonical quantities, empty fields
// dropped), which is how the test compares our output with KubeVirt's as the API server would store it.
//
// "apply" is KubeVirt's Expand without the cluster-wide defaults pass (see docs/expansion.md);
// "expand" is KubeVirt's Expand with the default KubeVirt configuration on amd64;
// "admit" is the VM admission webhook's instance type checks (spread topology + preference requirements).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	virtv1 "kubevirt.io/api/core/v1"
	"kubevirt.io/api/instancetype/v1beta1"

	"kubevirt.io/kubevirt/pkg/defaults"
	"kubevirt.io/kubevirt/pkg/instancetype/apply"
	"kubevirt.io/kubevirt/pkg/instancetype/conflict"
	"kubevirt.io/kubevirt/pkg/instancetype/expand"
	"kubevirt.io/kubevirt/pkg/instancetype/preference/requirements"
	"kubevirt.io/kubevirt/pkg/instancetype/preference/validation"
	"kubevirt.io/kubevirt/pkg/network/vmispec"
	"kubevirt.io/kubevirt/pkg/testutils"
	utils "kubevirt.io/kubevirt/pkg/util"
	virtconfig "kubevirt.io/kubevirt/pkg/virt-config"
)

type input struct {
	ID           string                                  `json:"id"`
	VM           *virtv1.VirtualMachine                  `json:"vm"`
	Instancetype *v1beta1.VirtualMachineInstancetypeSpec `json:"instancetype"`
	Preference   *v1beta1.VirtualMachinePreferenceSpec   `json:"preference"`
	Normalize    *virtv1.VirtualMachine                  `json:"normalize"`
}

type conflictOut struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

type result struct {
	OK        bool                   `json:"ok"`
	VM        *virtv1.VirtualMachine `json:"vm,omitempty"`
	Conflicts []conflictOut          `json:"conflicts,omitempty"`
	Error     string                 `json:"error,omitempty"`
}

type output struct {
	ID     string `json:"id"`
	Apply  result `json:"apply"`
	Expand result `json:"expand"`
	Admit  result `json:"admit"`
}

type normalized struct {
	ID string                 `json:"id"`
	VM *virtv1.VirtualMachine `json:"vm"`
}

// fixedFinder hands the given specs to KubeVirt's expander instead of looking them up in a cluster.
type fixedFinder struct {
	it   *v1beta1.VirtualMachineInstancetypeSpec
	pref *v1beta1.VirtualMachinePreferenceSpec
}

func (f fixedFinder) Find(*virtv1.VirtualMachine) (*v1beta1.VirtualMachineInstancetypeSpec, error) {
	return f.it, nil
}

func (f fixedFinder) FindPreference(*virtv1.VirtualMachine) (*v1beta1.VirtualMachinePreferenceSpec, error) {
	return f.pref, nil
}

func conflictsOut(cs conflict.Conflicts) []conflictOut {
	out := make([]conflictOut, 0, len(cs))
	for _, c := range cs {
		out = append(out, conflictOut{Path: c.String(), Message: c.Error()})
	}
	return out
}

func stripRefs(vm *virtv1.VirtualMachine) {
	vm.Spec.Instancetype = nil
	vm.Spec.Preference = nil
	vm.Status.InstancetypeRef = nil
	vm.Status.PreferenceRef = nil
}

// runApply is Expand minus defaults.SetDefaultVirtualMachineInstanceSpec: the steps whose result
// depends only on the VM, the instance type and the preference (plus the default pod interface).
func runApply(cfg *virtconfig.ClusterConfig, in input) result {
	if in.VM.Spec.Instancetype == nil && in.VM.Spec.Preference == nil {
		return result{OK: true, VM: in.VM.DeepCopy()}
	}
	vm := in.VM.DeepCopy()
	utils.SetDefaultVolumeDisk(&vm.Spec.Template.Spec)
	if err := vmispec.SetDefaultNetworkInterface(cfg, &vm.Spec.Template.Spec); err != nil {
		return result{Error: err.Error()}
	}
	cs := apply.NewVMIApplier().ApplyToVMI(k8sfield.NewPath("spec", "template", "spec"),
		in.Instancetype, in.Preference, &vm.Spec.Template.Spec, &vm.Spec.Template.ObjectMeta)
	if len(cs) > 0 {
		return result{Conflicts: conflictsOut(cs)}
	}
	stripRefs(vm)
	return result{OK: true, VM: vm}
}

func runExpand(cfg *virtconfig.ClusterConfig, in input) result {
	f := fixedFinder{it: in.Instancetype, pref: in.Preference}
	vm, err := expand.New(cfg, f, f).Expand(in.VM.DeepCopy())
	if err != nil {
		var cs conflict.Conflicts
		if errors.As(err, &cs) {
			return result{Conflicts: conflictsOut(cs)}
		}
		return result{Error: err.Error()}
	}
	return result{OK: true, VM: vm}
}

// runAdmit follows the VM admission webhook: spread check, apply, defaults, then requirements.
func runAdmit(cfg *virtconfig.ClusterConfig, in input) result {
	if in.Instancetype == nil && in.Preference == nil {
		return result{OK: true}
	}
	if c := validation.CheckSpreadCPUTopology(in.Instancetype, in.Preference); c != nil {
		return result{Conflicts: conflictsOut(conflict.Conflicts{c})}
	}
	vm := in.VM.DeepCopy()
	cs := apply.NewVMIApplier().ApplyToVMI(k8sfield.NewPath("spec", "template", "spec"),
		in.Instancetype, in.Preference, &vm.Spec.Template.Spec, &vm.Spec.Template.ObjectMeta)
	if len(cs) > 0 {
		return result{Conflicts: conflictsOut(cs)}
	}
	if err := defaults.SetDefaultVirtualMachineInstanceSpec(cfg, &vm.Spec.Template.Spec); err != nil {
		return result{Error: err.Error()}
	}
	if cs, err := requirements.New().Check(in.Instancetype, in.Preference, &vm.Spec.Template.Spec); err != nil {
		return result{Conflicts: conflictsOut(cs), Error: err.Error()}
	}
	return result{OK: true}
}

// guard turns a panic inside KubeVirt's code into a reported error so one bad case does not end the stream.
func guard(f func() result) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{Error: fmt.Sprintf("panic: %v", p)}
		}
	}()
	return f()
}

func main() {
	cfg, _, _ := testutils.NewFakeClusterConfigUsingKVConfig(&virtv1.KubeVirtConfiguration{})
	// Lines are decoded case-sensitively, as the API server does (encoding/json would accept
	// "DedicatedIOThread" for "dedicatedIOThread" and hide a misspelt key in our output).
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 256<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(w)
	for scanner.Scan() {
		var in input
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(scanner.Bytes(), &in); err != nil {
			fmt.Fprintf(os.Stderr, "expand-oracle: bad input: %v\n", err)
			os.Exit(2)
		}
		if in.Normalize != nil {
			if err := enc.Encode(&normalized{ID: in.ID, VM: in.Normalize}); err != nil {
				fmt.Fprintf(os.Stderr, "expand-oracle: write: %v\n", err)
				os.Exit(2)
			}
			continue
		}
		out := output{ID: in.ID}
		if in.VM == nil || in.VM.Spec.Template == nil {
			e := result{Error: "input has no vm or no spec.template"}
			out.Apply, out.Expand, out.Admit = e, e, e
		} else {
			out.Apply = guard(func() result { return runApply(cfg, in) })
			out.Expand = guard(func() result { return runExpand(cfg, in) })
			out.Admit = guard(func() result { return runAdmit(cfg, in) })
		}
		if err := enc.Encode(&out); err != nil {
			fmt.Fprintf(os.Stderr, "expand-oracle: write: %v\n", err)
			os.Exit(2)
		}
	}
	if err := scanner.Err(); err != nil && err != io.EOF {
		fmt.Fprintf(os.Stderr, "expand-oracle: read: %v\n", err)
		os.Exit(2)
	}
	if err := w.Flush(); err != nil {
		os.Exit(2)
	}
}
