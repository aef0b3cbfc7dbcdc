package main

// The `bench` subcommand: Execute latency of one BackupItemAction measured through Velero's OWN plugin
// client (the Go gRPC client and restartable-process wrapper the Velero server uses), so the figure is
// the round trip Velero sees, not that of a Node client sharing the CPU with the plugin.
//
//	conformance bench --plugin-dir=DIR --plugin=NAME --item=FILE [--calls=N] [--concurrency=C] [--client=velero|stub]
//
// --client=velero (default): Velero's clientmgmt, as the Velero server calls a plugin. Each call
// JSON-encodes the item and decodes the answer in Go first, which is Velero's own cost.
// --client=stub: the plugin is started by go-plugin with Velero's handshake, and called through
// Velero's generated gRPC stub on go-plugin's connection, with the item's JSON bytes encoded once.
// That is the same transport minus Velero's JSON work: the round trip the plugin itself is
// responsible for.
//
// Prints JSON: sequential p50/p99 (ms), concurrent p50/p99 (ms) and calls per second.

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"context"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	hcplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/generated"
)

type benchResult struct {
	Client            string  `json:"client"`
	Calls             int     `json:"calls"`
	Concurrency       int     `json:"concurrency"`
	SequentialP50Ms   float64 `json:"sequentialP50Ms"`
	SequentialP99Ms   float64 `json:"sequentialP99Ms"`
	ConcurrentP50Ms   float64 `json:"concurrentP50Ms"`
	ConcurrentP99Ms   float64 `json:"concurrentP99Ms"`
	ConcurrentPerSec  float64 `json:"concurrentCallsPerSecond"`
	ItemBytes         int     `json:"itemBytes"`
	DiscoveryAndStart float64 `json:"discoveryAndFirstCallMs"`
}

func percentileMs(sorted []time.Duration, p float64) float64 {
	i := int(p / 100 * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func runBench(args []string) error {
	f := parseFlags(args)
	pluginDir, name, itemFile, clientKind := f["plugin-dir"], f["plugin"], f["item"], f.get("client", "velero")
	calls, _ := strconv.Atoi(f.get("calls", "5000"))
	concurrency, _ := strconv.Atoi(f.get("concurrency", "16"))
	if pluginDir == "" || name == "" || itemFile == "" || calls < 100 || concurrency < 1 || (clientKind != "velero" && clientKind != "stub") {
		return fmt.Errorf("usage: conformance bench --plugin-dir=DIR --plugin=NAME --item=FILE [--calls=N>=100] [--concurrency=C] [--client=velero|stub]")
	}
	raw, err := os.ReadFile(itemFile)
	if err != nil {
		return err
	}
	obj := map[string]interface{}{}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s: %w", itemFile, err)
	}
	backup := &velerov1.Backup{}
	backup.Name, backup.Namespace, backup.UID = "bench", "velero", "bench-uid"

	logger := logrus.New()
	logger.Out = os.Stderr
	logger.Level = logrus.WarnLevel
	started := time.Now()
	registry := process.NewRegistry(pluginDir, logger, logrus.WarnLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	var execute func() error
	if clientKind == "velero" {
		manager := clientmgmt.NewManager(logger, logrus.WarnLevel, registry)
		defer manager.CleanupClients()
		action, err := manager.GetBackupItemAction(name)
		if err != nil {
			return err
		}
		execute = func() error {
			_, _, err := action.Execute(&unstructured.Unstructured{Object: runtime.DeepCopyJSON(obj)}, backup)
			return err
		}
	} else {
		id, err := registry.Get(common.PluginKindBackupItemAction, name)
		if err != nil {
			return err
		}
		stub, stop, err := startWithGoPlugin(id.Command, logger)
		if err != nil {
			return err
		}
		defer stop()
		backupJSON, err := json.Marshal(backup)
		if err != nil {
			return err
		}
		execute = func() error {
			_, err := stub.Execute(context.Background(), &generated.ExecuteRequest{Plugin: name, Item: raw, Backup: backupJSON})
			return err
		}
	}
	if err := execute(); err != nil {
		return err
	}
	res := benchResult{Client: clientKind, Calls: calls, Concurrency: concurrency, ItemBytes: len(raw)}
	res.DiscoveryAndStart = float64(time.Since(started).Microseconds()) / 1000

	for i := 0; i < calls/2; i++ { // warm up the JIT on the plugin's side
		if err := execute(); err != nil {
			return err
		}
	}
	seq := make([]time.Duration, 0, calls)
	for i := 0; i < calls; i++ {
		t := time.Now()
		if err := execute(); err != nil {
			return err
		}
		seq = append(seq, time.Since(t))
	}
	sort.Slice(seq, func(i, j int) bool { return seq[i] < seq[j] })
	res.SequentialP50Ms, res.SequentialP99Ms = percentileMs(seq, 50), percentileMs(seq, 99)

	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	conc := make([]time.Duration, 0, calls)
	per := calls / concurrency
	allStarted := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				t := time.Now()
				err := execute()
				d := time.Since(t)
				mu.Lock()
				conc = append(conc, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(allStarted)
	sort.Slice(conc, func(i, j int) bool { return conc[i] < conc[j] })
	res.ConcurrentP50Ms, res.ConcurrentP99Ms = percentileMs(conc, 50), percentileMs(conc, 99)
	res.ConcurrentPerSec = float64(len(conc)) / elapsed.Seconds()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// startWithGoPlugin launches the plugin the way Velero's client builder does (go-plugin, Velero's
// handshake, gRPC only) and returns Velero's generated BackupItemAction stub on go-plugin's connection.
func startWithGoPlugin(command string, logger logrus.FieldLogger) (generated.BackupItemActionClient, func(), error) {
	client := hcplugin.NewClient(&hcplugin.ClientConfig{
		HandshakeConfig:  framework.Handshake(),
		AllowedProtocols: []hcplugin.Protocol{hcplugin.ProtocolGRPC},
		Plugins: map[string]hcplugin.Plugin{
			string(common.PluginKindBackupItemAction): framework.NewBackupItemActionPlugin(common.ClientLogger(logger)),
		},
		Cmd:    exec.Command(command, "--log-level", "warning"),
		Logger: hclog.NewNullLogger(),
	})
	protocol, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, err
	}
	grpcClient, ok := protocol.(*hcplugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("go-plugin did not negotiate gRPC")
	}
	return generated.NewBackupItemActionClient(grpcClient.Conn), client.Kill, nil
}
