// The client-go side of `make bench-kube` (bench/kube/run.sh): the same work as bench/kube/bench-kube.c,
// each mode printing one JSON line of figures on stdout, with the same field names.
//
//	bench-kube-go list NS                           one unpaged list, decoded into typed objects
//	bench-kube-go informer NS                       a SharedInformer's cache: RSS after sync minus before
//	bench-kube-go watch NS RV IDLE MAX READY COUNT  watch from RV ("" for now), as the C program
//
// The kubeconfig is $KUBECONFIG, as for kubectl and the C program.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "bench-kube-go: %s: %v\n", what, err)
	os.Exit(1)
}

func newClient() *kubernetes.Clientset {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		fail("kubeconfig", err)
	}
	// JSON on the wire, as the C client; no client-side rate limit, so that neither client waits on one
	cfg.ContentType = "application/json"
	cfg.AcceptContentTypes = "application/json"
	cfg.QPS = -1
	cfg.Timeout = 120 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail("client", err)
	}
	return cs
}

func maxRSSKB() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return ru.Maxrss
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// rssKB is VmRSS of this process, in KiB.
func rssKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func list(ns string) {
	cs := newClient()
	t0 := time.Now()
	l, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	t1 := time.Now()
	if err != nil {
		fail("list", err)
	}
	fmt.Printf("{\"mode\":\"list\",\"items\":%d,\"seconds\":%.3f,\"maxrss_kb\":%d}\n",
		len(l.Items), t1.Sub(t0).Seconds(), maxRSSKB())
	runtime.KeepAlive(l)
}

// settle leaves only live memory in the RSS: garbage collected and returned to the system.
func settle() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rssKB()
}

func informer(ns string) {
	cs := newClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// the libraries' one-time state (TLS, HTTP/2, the scheme) belongs in the baseline
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		fail("get namespace", err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	before := settle()
	t0 := time.Now()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		fail("informer", fmt.Errorf("not synced"))
	}
	t1 := time.Now()
	after := settle()
	objs := inf.GetIndexer().List()
	var jsonBytes int
	for _, o := range objs {
		b, err := json.Marshal(o.(*corev1.ConfigMap))
		if err != nil {
			fail("marshal", err)
		}
		jsonBytes += len(b)
	}
	fmt.Printf("{\"mode\":\"informer\",\"objects\":%d,\"sync_seconds\":%.3f,\"rss_before_kb\":%d,"+
		"\"rss_after_kb\":%d,\"json_bytes\":%d,\"maxrss_kb\":%d}\n",
		len(objs), t1.Sub(t0).Seconds(), before, after, jsonBytes, maxRSSKB())
}

func watchNS(ns, rv string, idle, max time.Duration, ready string, count int64) {
	cs := newClient()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	if rv == "" {
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			fail("list", err)
		}
		rv = l.ResourceVersion
	}
	timeout := int64(max.Seconds()) + 10
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, TimeoutSeconds: &timeout})
	if err != nil {
		fail("watch", err)
	}
	defer w.Stop()
	if f, err := os.Create(ready); err == nil {
		f.Close()
	}
	cpu0 := cpuSeconds()
	var events, added, modified, deleted int64
	var first, last time.Time
	var lastNano atomic.Int64
	go func() { // the watchdog: stop after idle seconds without an event
		for ctx.Err() == nil {
			if l := lastNano.Load(); l != 0 && time.Since(time.Unix(0, l)) > idle {
				cancel()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
loop:
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				break loop
			}
			t := time.Now()
			switch ev.Type {
			case watch.Bookmark:
				continue
			case watch.Error:
				fail("watch", fmt.Errorf("error event: %v", ev.Object))
			case watch.Added:
				added++
			case watch.Modified:
				modified++
			case watch.Deleted:
				deleted++
			}
			if events == 0 {
				first = t
			}
			last = t
			lastNano.Store(t.UnixNano())
			events++
			if count > 0 && events == count {
				break loop
			}
		case <-ctx.Done():
			break loop
		}
	}
	span := last.Sub(first).Seconds()
	rate := 0.0
	if span > 0 {
		rate = float64(events) / span
	}
	fmt.Printf("{\"mode\":\"watch\",\"rv\":%q,\"events\":%d,\"added\":%d,\"modified\":%d,\"deleted\":%d,"+
		"\"seconds\":%.3f,\"events_per_second\":%.1f,\"cpu_seconds\":%.3f,\"maxrss_kb\":%d}\n",
		rv, events, added, modified, deleted, span, rate, cpuSeconds()-cpu0, maxRSSKB())
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fail("argument", err)
	}
	return n
}

func main() {
	a := os.Args
	switch {
	case len(a) == 3 && a[1] == "list":
		list(a[2])
	case len(a) == 3 && a[1] == "informer":
		informer(a[2])
	case len(a) == 8 && a[1] == "watch":
		watchNS(a[2], a[3], time.Duration(atoi(a[4]))*time.Second, time.Duration(atoi(a[5]))*time.Second,
			a[6], atoi(a[7]))
	default:
		fmt.Fprintln(os.Stderr, "usage: bench-kube-go list|informer NS | watch NS RV IDLE MAX READY COUNT")
		os.Exit(2)
	}
}
