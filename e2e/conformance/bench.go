package main

// The `bench` subcommand: Execute latency of one BackupItemAction measured through Velero's OWN plugin
// client (the Go gRPC client and restartable-process wrapper the Velero server uses), so the figure is
// the round trip Velero sees, not that of a Node client sharing the CPU with the plugin.
//
//	conformance bench --plugin-dir=DIR --plugin=NAME --item=FILE [--calls=N] [--concurrency=C]
//
// Prints JSON: sequential p50/p99 (ms), concurrent p50/p99 (ms) and calls per second.

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
)

type benchResult struct {
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
	pluginDir, name, itemFile, calls, concurrency := "", "", "", 5000, 16
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--plugin-dir="):
			pluginDir = strings.TrimPrefix(a, "--plugin-dir=")
		case strings.HasPrefix(a, "--plugin="):
			name = strings.TrimPrefix(a, "--plugin=")
		case strings.HasPrefix(a, "--item="):
			itemFile = strings.TrimPrefix(a, "--item=")
		case strings.HasPrefix(a, "--calls="):
			calls, _ = strconv.Atoi(strings.TrimPrefix(a, "--calls="))
		case strings.HasPrefix(a, "--concurrency="):
			concurrency, _ = strconv.Atoi(strings.TrimPrefix(a, "--concurrency="))
		}
	}
	if pluginDir == "" || name == "" || itemFile == "" || calls < 100 || concurrency < 1 {
		return fmt.Errorf("usage: conformance bench --plugin-dir=DIR --plugin=NAME --item=FILE [--calls=N>=100] [--concurrency=C]")
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
	manager := clientmgmt.NewManager(logger, logrus.WarnLevel, registry)
	defer manager.CleanupClients()
	action, err := manager.GetBackupItemAction(name)
	if err != nil {
		return err
	}
	execute := func() error {
		_, _, err := action.Execute(&unstructured.Unstructured{Object: runtime.DeepCopyJSON(obj)}, backup)
		return err
	}
	if err := execute(); err != nil {
		return err
	}
	res := benchResult{Calls: calls, Concurrency: concurrency, ItemBytes: len(raw)}
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
