// Command conformance drives a Velero plugin binary through Velero's OWN plugin client code
// (pkg/plugin/clientmgmt, .../process, framework): the same discovery, go-plugin handshake, gRPC
// clients and restartable-process wrappers the Velero server uses. It discovers the plugins in a
// directory, lists them, and calls every item action kind on sample items:
//
//	BackupItemAction     AppliesTo, Execute  (v1 actions are also driven through the v2 adapters,
//	BackupItemActionV2   AppliesTo, Execute, Progress, Cancel    as the server does)
//	RestoreItemAction    AppliesTo, Execute
//	RestoreItemActionV2  AppliesTo, Execute, Progress, Cancel, AreAdditionalItemsReady
//	ItemBlockAction      AppliesTo, GetRelatedItems  (Velero >= 1.15; through the restartable adapter)
//
// and prints a JSON report on stdout (plugin logs go to stderr). Protocol faults show up as call
// errors naming the method; the e2e test (e2e/conformance.test.ts) asserts on the report.
//
// Usage:
//
//	conformance run --plugin-dir=DIR [--items=FILE] [--log-level=debug] [other flags passed to plugins]
//
// Like `velero server`, everything after the first argument is handed to each plugin process as its
// arguments. FILE is JSON: {"backup": <Backup>, "restore": <Restore>, "items": [{"resource":
// "virtualmachines.kubevirt.io", "object": {...}}]}; without it a sample VirtualMachine is used.
//
// Velero runs its own executable (os.Args[0]) with `run-plugins` to discover built-in plugins; this
// program answers that call by serving no plugins.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav1 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v1"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	riav1 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v1"
	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
)

const callTimeout = 60 * time.Second

type item struct {
	Resource string                 `json:"resource"`
	Object   map[string]interface{} `json:"object"`
}

type input struct {
	Backup  *velerov1.Backup  `json:"backup"`
	Restore *velerov1.Restore `json:"restore"`
	Items   []item            `json:"items"`
}

type call struct {
	Method     string      `json:"method"`
	Item       string      `json:"item,omitempty"`
	OK         bool        `json:"ok"`
	Error      string      `json:"error,omitempty"`
	DurationMs int64       `json:"durationMs"`
	Result     interface{} `json:"result,omitempty"`
}

type actionReport struct {
	// Kind is what the plugin registered; CalledAs the interface Velero's client drove it through.
	Kind      string                   `json:"kind"`
	CalledAs  string                   `json:"calledAs"`
	Name      string                   `json:"name"`
	Command   string                   `json:"command"`
	AppliesTo *velero.ResourceSelector `json:"appliesTo,omitempty"`
	Calls     []call                   `json:"calls"`
}

type report struct {
	PluginDir string                       `json:"pluginDir"`
	Plugins   []framework.PluginIdentifier `json:"plugins"`
	Actions   []actionReport               `json:"actions"`
	Error     string                       `json:"error,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		// Velero's own built-in plugins would be served here; we have none.
		framework.NewServer().Serve()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		if err := runBench(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "conformance bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: conformance run --plugin-dir=DIR [--items=FILE] [--log-level=LEVEL] [plugin flags...]")
		os.Exit(2)
	}
	f := parseFlags(os.Args[2:])
	pluginDir, itemsFile := f["plugin-dir"], f["items"]
	level, err := logrus.ParseLevel(f.get("log-level", "info"))
	if err != nil {
		level = logrus.InfoLevel
	}
	if pluginDir == "" {
		fmt.Fprintln(os.Stderr, "conformance: --plugin-dir is required")
		os.Exit(2)
	}
	in, err := readInput(itemsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(2)
	}

	logger := logrus.New()
	logger.Out = os.Stderr
	logger.Level = level

	rep := report{PluginDir: pluginDir, Plugins: []framework.PluginIdentifier{}, Actions: []actionReport{}}
	registry := process.NewRegistry(pluginDir, logger, level)
	if err := registry.DiscoverPlugins(); err != nil {
		rep.Error = "discovery: " + err.Error()
		emit(rep)
		os.Exit(1)
	}
	manager := clientmgmt.NewManager(logger, level, registry)
	defer manager.CleanupClients()

	kinds := []common.PluginKind{
		common.PluginKindBackupItemAction, common.PluginKindBackupItemActionV2,
		common.PluginKindRestoreItemAction, common.PluginKindRestoreItemActionV2,
		common.PluginKindDeleteItemAction, common.PluginKindItemBlockAction,
		common.PluginKindObjectStore, common.PluginKindVolumeSnapshotter,
	}
	// registry.List(kind) also lists older-version actions under the newer kind (a v1 BackupItemAction
	// under BackupItemActionV2): Velero's server calls them through the v2 adapters. So every action
	// is driven once per list it appears in, with the getter of that list's kind, as the server does.
	seen := map[process.KindAndName]bool{}
	for _, k := range kinds {
		for _, id := range registry.List(k) {
			key := process.KindAndName{Kind: id.Kind, Name: id.Name}
			if !seen[key] {
				seen[key] = true
				rep.Plugins = append(rep.Plugins, id)
			}
		}
	}
	sort.Slice(rep.Plugins, func(i, j int) bool {
		if rep.Plugins[i].Kind != rep.Plugins[j].Kind {
			return rep.Plugins[i].Kind < rep.Plugins[j].Kind
		}
		return rep.Plugins[i].Name < rep.Plugins[j].Name
	})

	for _, listed := range []common.PluginKind{
		common.PluginKindBackupItemAction, common.PluginKindBackupItemActionV2,
		common.PluginKindRestoreItemAction, common.PluginKindRestoreItemActionV2,
		common.PluginKindItemBlockAction,
	} {
		for _, id := range registry.List(listed) {
			ar := actionReport{Kind: string(id.Kind), CalledAs: string(listed), Name: id.Name, Command: id.Command, Calls: []call{}}
			switch listed {
			case common.PluginKindBackupItemAction:
				runBIAv1(manager, &ar, in)
			case common.PluginKindBackupItemActionV2:
				runBIAv2(manager, &ar, in)
			case common.PluginKindRestoreItemAction:
				runRIAv1(manager, &ar, in)
			case common.PluginKindRestoreItemActionV2:
				runRIAv2(manager, &ar, in)
			case common.PluginKindItemBlockAction:
				runIBAv1(manager, &ar, in)
			}
			rep.Actions = append(rep.Actions, ar)
		}
	}
	emit(rep)
}

// flags holds the --name=value arguments, by name (the last one of a name counts); others are left out.
type flags map[string]string

func parseFlags(args []string) flags {
	f := flags{}
	for _, a := range args {
		if nameValue, ok := strings.CutPrefix(a, "--"); ok {
			if name, value, ok := strings.Cut(nameValue, "="); ok {
				f[name] = value
			}
		}
	}
	return f
}

// get is the value of --name, or def when it is absent.
func (f flags) get(name, def string) string {
	if v, ok := f[name]; ok {
		return v
	}
	return def
}

func emit(rep report) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func readInput(path string) (input, error) {
	in := input{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return in, err
		}
		// Numbers stay json.Number (not float64), so integers past 2^53 reach the plugin exactly.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			return in, fmt.Errorf("%s: %w", path, err)
		}
	}
	if in.Backup == nil {
		in.Backup = &velerov1.Backup{}
		in.Backup.Name, in.Backup.Namespace, in.Backup.UID = "conformance-backup", "velero", "00000000-0000-0000-0000-0000000000b1"
		in.Backup.Spec.IncludedNamespaces = []string{"conformance"}
		in.Backup.Status.Phase = velerov1.BackupPhaseInProgress
	}
	if in.Restore == nil {
		in.Restore = &velerov1.Restore{}
		in.Restore.Name, in.Restore.Namespace, in.Restore.UID = "conformance-restore", "velero", "00000000-0000-0000-0000-0000000000a1"
		in.Restore.Spec.BackupName = in.Backup.Name
		in.Restore.Status.Phase = velerov1.RestorePhaseInProgress
	}
	if len(in.Items) == 0 {
		in.Items = []item{{Resource: "virtualmachines.kubevirt.io", Object: map[string]interface{}{
			"apiVersion": "kubevirt.io/v1",
			"kind":       "VirtualMachine",
			"metadata":   map[string]interface{}{"name": "sample", "namespace": "conformance", "uid": "00000000-0000-0000-0000-00000000c0c0"},
			"spec": map[string]interface{}{
				"runStrategy": "Halted",
				"template": map[string]interface{}{"spec": map[string]interface{}{
					"domain": map[string]interface{}{"devices": map[string]interface{}{}},
				}},
			},
		}}}
	}
	return in, nil
}

// timed runs f with a deadline so that one hung plugin call cannot hang the whole run.
func timed(method, itemName string, f func() (interface{}, error)) call {
	start := time.Now()
	type res struct {
		v   interface{}
		err error
	}
	ch := make(chan res, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- res{nil, fmt.Errorf("panic in client: %v", r)}
			}
		}()
		v, err := f()
		ch <- res{v, err}
	}()
	c := call{Method: method, Item: itemName}
	select {
	case r := <-ch:
		c.OK = r.err == nil
		if r.err != nil {
			c.Error = r.err.Error()
		}
		c.Result = r.v
	case <-time.After(callTimeout):
		c.Error = fmt.Sprintf("no answer within %s", callTimeout)
	}
	c.DurationMs = time.Since(start).Milliseconds()
	return c
}

func itemName(it item) string {
	u := unstructured.Unstructured{Object: it.Object}
	if u.GetNamespace() == "" {
		return it.Resource + "/" + u.GetName()
	}
	return it.Resource + "/" + u.GetNamespace() + "/" + u.GetName()
}

// applies mirrors the resource and namespace parts of Velero's selector matching for our sample items
// (resource given in full, `plural.group`, or as the plural alone; "*" and empty match everything).
func applies(sel velero.ResourceSelector, it item) bool {
	plural := strings.SplitN(it.Resource, ".", 2)[0]
	in := func(list []string) bool {
		for _, r := range list {
			if r == "*" || r == it.Resource || r == plural {
				return true
			}
		}
		return false
	}
	if len(sel.IncludedResources) > 0 && !in(sel.IncludedResources) {
		return false
	}
	if len(sel.ExcludedResources) > 0 && in(sel.ExcludedResources) {
		return false
	}
	ns := (&unstructured.Unstructured{Object: it.Object}).GetNamespace()
	if ns != "" {
		if len(sel.IncludedNamespaces) > 0 && !contains(sel.IncludedNamespaces, ns) && !contains(sel.IncludedNamespaces, "*") {
			return false
		}
		if contains(sel.ExcludedNamespaces, ns) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func objectOf(it item) runtime.Unstructured {
	return &unstructured.Unstructured{Object: runtime.DeepCopyJSON(it.Object)}
}

func ids(list []velero.ResourceIdentifier) []map[string]string {
	out := []map[string]string{}
	for _, r := range list {
		out = append(out, map[string]string{"group": r.Group, "resource": r.Resource, "namespace": r.Namespace, "name": r.Name})
	}
	return out
}

func appliesTo(ar *actionReport, f func() (velero.ResourceSelector, error)) (velero.ResourceSelector, bool) {
	var sel velero.ResourceSelector
	c := timed("AppliesTo", "", func() (interface{}, error) {
		s, err := f()
		sel = s
		return s, err
	})
	ar.Calls = append(ar.Calls, c)
	if c.OK {
		ar.AppliesTo = &sel
	}
	return sel, c.OK
}

// runItemAction is what every item action kind shares: get the action (a failed Get is then the one
// call reported), AppliesTo, and Execute on each item its selector applies to. It returns the action,
// or false when Get or AppliesTo failed.
func runItemAction[A interface {
	AppliesTo() (velero.ResourceSelector, error)
}](ar *actionReport, get func(name string) (A, error), in input, execute func(a A, it item) (interface{}, error)) (A, bool) {
	a, err := get(ar.Name)
	if err != nil {
		ar.Calls = append(ar.Calls, call{Method: "Get", Error: err.Error()})
		return a, false
	}
	sel, ok := appliesTo(ar, a.AppliesTo)
	if !ok {
		return a, false
	}
	for _, it := range in.Items {
		if applies(sel, it) {
			ar.Calls = append(ar.Calls, timed("Execute", itemName(it), func() (interface{}, error) { return execute(a, it) }))
		}
	}
	return a, true
}

// asyncOperations is the Progress/Cancel pair of the v2 actions; R is the Backup or the Restore.
type asyncOperations[R any] interface {
	Progress(operationID string, r R) (velero.OperationProgress, error)
	Cancel(operationID string, r R) error
}

// probeOperations calls Progress and Cancel with the last operation ID Execute returned, or with one
// the action cannot know.
func probeOperations[R any](ar *actionReport, a asyncOperations[R], opID string, r R) {
	if opID == "" {
		opID = "conformance-unknown-operation"
	}
	ar.Calls = append(ar.Calls, timed("Progress", opID, func() (interface{}, error) { return a.Progress(opID, r) }))
	ar.Calls = append(ar.Calls, timed("Cancel", opID, func() (interface{}, error) { return nil, a.Cancel(opID, r) }))
}

func runBIAv1(m clientmgmt.Manager, ar *actionReport, in input) {
	runItemAction(ar, m.GetBackupItemAction, in, func(a biav1.BackupItemAction, it item) (interface{}, error) {
		out, extra, err := a.Execute(objectOf(it), in.Backup)
		if err != nil {
			return nil, err
		}
		return map[string]interface{}{"item": out.UnstructuredContent(), "additionalItems": ids(extra)}, nil
	})
}

func runBIAv2(m clientmgmt.Manager, ar *actionReport, in input) {
	opID := ""
	a, ok := runItemAction(ar, m.GetBackupItemActionV2, in, func(a biav2.BackupItemAction, it item) (interface{}, error) {
		out, extra, op, post, err := a.Execute(objectOf(it), in.Backup)
		if err != nil {
			return nil, err
		}
		if op != "" {
			opID = op
		}
		return map[string]interface{}{"item": out.UnstructuredContent(), "additionalItems": ids(extra), "operationID": op, "postOperationItems": ids(post)}, nil
	})
	if ok {
		probeOperations(ar, a, opID, in.Backup)
	}
}

func runRIAv1(m clientmgmt.Manager, ar *actionReport, in input) {
	runItemAction(ar, m.GetRestoreItemAction, in, func(a riav1.RestoreItemAction, it item) (interface{}, error) {
		out, err := a.Execute(restoreInput(it, in))
		if err != nil {
			return nil, err
		}
		return restoreOutput(out), nil
	})
}

func runRIAv2(m clientmgmt.Manager, ar *actionReport, in input) {
	opID := ""
	var additional []velero.ResourceIdentifier
	a, ok := runItemAction(ar, m.GetRestoreItemActionV2, in, func(a riav2.RestoreItemAction, it item) (interface{}, error) {
		out, err := a.Execute(restoreInput(it, in))
		if err != nil {
			return nil, err
		}
		if out.OperationID != "" {
			opID = out.OperationID
		}
		additional = append(additional, out.AdditionalItems...)
		return restoreOutput(out), nil
	})
	if !ok {
		return
	}
	probeOperations(ar, a, opID, in.Restore)
	if additional == nil {
		// Nothing returned: ask about an item anyway, as Velero may after a restart.
		additional = []velero.ResourceIdentifier{{GroupResource: schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}, Namespace: "conformance", Name: "absent"}}
	}
	ar.Calls = append(ar.Calls, timed("AreAdditionalItemsReady", "", func() (interface{}, error) {
		return a.AreAdditionalItemsReady(additional, in.Restore)
	}))
}

// runIBAv1 drives an ItemBlockAction as Velero's item collector does: AppliesTo, then GetRelatedItems
// on every item the selector applies to.
func runIBAv1(m clientmgmt.Manager, ar *actionReport, in input) {
	a, err := m.GetItemBlockAction(ar.Name)
	if err != nil {
		ar.Calls = append(ar.Calls, call{Method: "Get", Error: err.Error()})
		return
	}
	// The restartable adapter answers Name() itself, with the registered name.
	if a.Name() != ar.Name {
		ar.Calls = append(ar.Calls, call{Method: "Name", Error: fmt.Sprintf("adapter names the action %q, registered as %q", a.Name(), ar.Name)})
	}
	sel, ok := appliesTo(ar, a.AppliesTo)
	if !ok {
		return
	}
	for _, it := range in.Items {
		if applies(sel, it) {
			ar.Calls = append(ar.Calls, timed("GetRelatedItems", itemName(it), func() (interface{}, error) {
				related, err := a.GetRelatedItems(objectOf(it), in.Backup)
				if err != nil {
					return nil, err
				}
				return map[string]interface{}{"relatedItems": ids(related)}, nil
			}))
		}
	}
}

func restoreInput(it item, in input) *velero.RestoreItemActionExecuteInput {
	return &velero.RestoreItemActionExecuteInput{Item: objectOf(it), ItemFromBackup: objectOf(it), Restore: in.Restore}
}

func restoreOutput(out *velero.RestoreItemActionExecuteOutput) map[string]interface{} {
	r := map[string]interface{}{
		"additionalItems":        ids(out.AdditionalItems),
		"skipRestore":            out.SkipRestore,
		"operationID":            out.OperationID,
		"waitForAdditionalItems": out.WaitForAdditionalItems,
	}
	if out.UpdatedItem != nil {
		r["updatedItem"] = out.UpdatedItem.UnstructuredContent()
	}
	return r
}
