// Command revision-oracle decodes instance type / preference ControllerRevisions with KubeVirt's own
// code (pkg/instancetype/compatibility of KubeVirt v1.6, the last release that still reads the
// v1alpha1 and v1alpha2 payloads older releases wrote), so our extraction can be compared with it.
//
// Input (stdin), one JSON object per line:
//
//	{"id": "...", "kind": "instancetype"|"preference", "revision": {...ControllerRevision...}}
//	{"id": "...", "kind": "instancetype"|"preference", "downgrade": "v1alpha1"|"v1alpha2", "spec": {...v1beta1 spec...}}
//
// Output: {"id": "...", "spec": {...}} or {"id": "...", "error": "..."}. A "downgrade" line converts a
// v1beta1 spec with KubeVirt's generated conversions, giving a payload an older KubeVirt could have written.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"

	"kubevirt.io/api/instancetype/v1alpha1"
	"kubevirt.io/api/instancetype/v1alpha2"
	"kubevirt.io/api/instancetype/v1beta1"

	"kubevirt.io/kubevirt/pkg/instancetype/compatibility"
)

type input struct {
	ID        string                     `json:"id"`
	Kind      string                     `json:"kind"`
	Revision  *appsv1.ControllerRevision `json:"revision"`
	Downgrade string                     `json:"downgrade"`
	Spec      json.RawMessage            `json:"spec"`
}

type output struct {
	ID    string      `json:"id"`
	Spec  interface{} `json:"spec,omitempty"`
	Error string      `json:"error,omitempty"`
}

func decode(in input) (interface{}, error) {
	if in.Revision == nil {
		return nil, fmt.Errorf("no revision")
	}
	if in.Kind == "instancetype" {
		return compatibility.GetInstancetypeSpec(in.Revision)
	}
	return compatibility.GetPreferenceSpec(in.Revision)
}

func downgrade(in input) (interface{}, error) {
	if in.Kind == "instancetype" {
		var spec v1beta1.VirtualMachineInstancetypeSpec
		if err := json.Unmarshal(in.Spec, &spec); err != nil {
			return nil, err
		}
		if in.Downgrade == "v1alpha1" {
			out := &v1alpha1.VirtualMachineInstancetypeSpec{}
			return out, v1alpha1.Convert_v1beta1_VirtualMachineInstancetypeSpec_To_v1alpha1_VirtualMachineInstancetypeSpec(&spec, out, nil)
		}
		out := &v1alpha2.VirtualMachineInstancetypeSpec{}
		return out, v1alpha2.Convert_v1beta1_VirtualMachineInstancetypeSpec_To_v1alpha2_VirtualMachineInstancetypeSpec(&spec, out, nil)
	}
	var spec v1beta1.VirtualMachinePreferenceSpec
	if err := json.Unmarshal(in.Spec, &spec); err != nil {
		return nil, err
	}
	if in.Downgrade == "v1alpha1" {
		out := &v1alpha1.VirtualMachinePreferenceSpec{}
		return out, v1alpha1.Convert_v1beta1_VirtualMachinePreferenceSpec_To_v1alpha1_VirtualMachinePreferenceSpec(&spec, out, nil)
	}
	out := &v1alpha2.VirtualMachinePreferenceSpec{}
	return out, v1alpha2.Convert_v1beta1_VirtualMachinePreferenceSpec_To_v1alpha2_VirtualMachinePreferenceSpec(&spec, out, nil)
}

func main() {
	dec := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<20))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(w)
	for {
		var in input
		if err := dec.Decode(&in); err != nil {
			if err == io.EOF {
				break
			}
			fmt.Fprintf(os.Stderr, "revision-oracle: bad input: %v\n", err)
			os.Exit(2)
		}
		var spec interface{}
		var err error
		if in.Downgrade != "" {
			spec, err = downgrade(in)
		} else {
			spec, err = decode(in)
		}
		out := output{ID: in.ID, Spec: spec}
		if err != nil {
			out = output{ID: in.ID, Error: err.Error()}
		}
		if err := enc.Encode(&out); err != nil {
			os.Exit(2)
		}
	}
	if err := w.Flush(); err != nil {
		os.Exit(2)
	}
}
