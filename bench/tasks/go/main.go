// The driver of `make bench-tasks` (bench/tasks/run.sh): creates ExecutionTasks with client-go and times
// them with a watch, printing key=value lines for the script's table.
//
//	-mode latency:    N tasks running `true` in one sandbox, one after another; create sent -> a watch
//	                  sees phase Succeeded; prints p50_ms, p99_ms.
//	-mode throughput: N tasks running `true` spread over the sandboxes, all created at once (PAR in
//	                  flight); prints seconds (first create -> last Succeeded seen) and tasks_per_s.
//	-mode output:     one task writing BYTES bytes to stdout; prints seconds (create -> Succeeded) and
//	                  mb_per_s, after checking stdoutBytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

var gvr = schema.GroupVersionResource{Group: "mbox.dev", Version: "v1alpha1", Resource: "executiontasks"}

func task(ns, name, sandbox string, command []string) *unstructured.Unstructured {
	cmd := make([]interface{}, len(command))
	for i, c := range command {
		cmd[i] = c
	}
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "mbox.dev/v1alpha1",
		"kind":       "ExecutionTask",
		"metadata":   map[string]interface{}{"name": name, "namespace": ns},
		"spec": map[string]interface{}{
			"sandboxRef":     map[string]interface{}{"name": sandbox},
			"command":        cmd,
			"timeoutSeconds": int64(600),
		},
	}}
}

// watcher records when each task was first seen in a final phase.
type watcher struct {
	mu   sync.Mutex
	done map[string]time.Time
	fail map[string]string
	cond *sync.Cond
}

func watchTasks(ctx context.Context, c dynamic.Interface, ns string) (*watcher, error) {
	w := &watcher{done: map[string]time.Time{}, fail: map[string]string{}}
	w.cond = sync.NewCond(&w.mu)
	wi, err := c.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range wi.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			switch phase {
			case "Succeeded", "Failed", "Canceled", "TimedOut":
			default:
				continue
			}
			now := time.Now()
			w.mu.Lock()
			if _, seen := w.done[u.GetName()]; !seen {
				w.done[u.GetName()] = now
				if phase != "Succeeded" {
					msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
					w.fail[u.GetName()] = phase + ": " + msg
				}
				w.cond.Broadcast()
			}
			w.mu.Unlock()
		}
	}()
	return w, nil
}

func (w *watcher) wait(names []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	go func() { time.Sleep(timeout); w.cond.Broadcast() }()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		missing := 0
		for _, n := range names {
			if _, ok := w.done[n]; !ok {
				missing++
			}
		}
		if missing == 0 {
			for _, n := range names {
				if f, bad := w.fail[n]; bad {
					return fmt.Errorf("task %s did not succeed: %s", n, f)
				}
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d tasks not finished after %s", missing, len(names), timeout)
		}
		w.cond.Wait()
	}
}

func pct(d []time.Duration, p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p*float64(len(d))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(d) {
		i = len(d) - 1
	}
	return float64(d[i].Microseconds()) / 1000
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	ns := flag.String("namespace", "", "namespace of the sandboxes")
	sandboxes := flag.String("sandboxes", "", "comma-separated sandbox names")
	mode := flag.String("mode", "latency", "latency, throughput or output")
	n := flag.Int("n", 50, "tasks")
	par := flag.Int("par", 20, "creates in flight (throughput)")
	size := flag.Int64("bytes", 100<<20, "bytes written (output)")
	prefix := flag.String("prefix", "b", "task name prefix")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	c := dynamic.NewForConfigOrDie(cfg)
	ctx := context.Background()
	w, err := watchTasks(ctx, c, *ns)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sbs := strings.Split(*sandboxes, ",")
	create := func(name, sb string, cmd []string) {
		if _, err := c.Resource(gvr).Namespace(*ns).Create(ctx, task(*ns, name, sb, cmd), metav1.CreateOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			os.Exit(1)
		}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	switch *mode {
	case "latency":
		var d []time.Duration
		for i := 0; i < *n; i++ {
			name := fmt.Sprintf("%s-%d", *prefix, i)
			t0 := time.Now()
			create(name, sbs[0], []string{"true"})
			if err := w.wait([]string{name}, 60*time.Second); err != nil {
				fail(err)
			}
			w.mu.Lock()
			d = append(d, w.done[name].Sub(t0))
			w.mu.Unlock()
		}
		fmt.Printf("p50_ms=%.1f\np99_ms=%.1f\n", pct(d, 0.5), pct(d, 0.99))
	case "throughput":
		names := make([]string, *n)
		jobs := make(chan int)
		var wg sync.WaitGroup
		t0 := time.Now()
		for k := 0; k < *par; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					create(names[i], sbs[i%len(sbs)], []string{"true"})
				}
			}()
		}
		for i := 0; i < *n; i++ {
			names[i] = fmt.Sprintf("%s-%d", *prefix, i)
		}
		for i := 0; i < *n; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		if err := w.wait(names, 20*time.Minute); err != nil {
			fail(err)
		}
		var last time.Time
		for _, nm := range names {
			if w.done[nm].After(last) {
				last = w.done[nm]
			}
		}
		s := last.Sub(t0).Seconds()
		fmt.Printf("seconds=%.2f\ntasks_per_s=%.1f\n", s, float64(*n)/s)
	case "output":
		name := *prefix + "-out"
		t0 := time.Now()
		create(name, sbs[0], []string{"head", "-c", fmt.Sprint(*size), "/dev/zero"})
		if err := w.wait([]string{name}, 10*time.Minute); err != nil {
			fail(err)
		}
		s := w.done[name].Sub(t0).Seconds()
		u, err := c.Resource(gvr).Namespace(*ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			fail(err)
		}
		got, _, _ := unstructured.NestedInt64(u.Object, "status", "stdoutBytes")
		if got != *size {
			fail(fmt.Errorf("stdoutBytes %d, want %d", got, *size))
		}
		fmt.Printf("seconds=%.2f\nmb_per_s=%.1f\n", s, float64(*size)/1e6/s)
	default:
		fail(fmt.Errorf("unknown mode %q", *mode))
	}
}
