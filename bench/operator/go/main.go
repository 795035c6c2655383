// The driver of `make bench-operator` (bench/operator/run.sh). Each mode prints its figures as
// shell-friendly key=value lines on stdout (run.sh evals them with a prefix); progress goes to stderr.
//
//	bench-operator-go burst claims NS N POOL PAR      N raw SandboxClaims through warm pool POOL, PAR
//	                                                  creates in flight; until every claim is Ready=True
//	bench-operator-go burst sandboxes NS N TMPL PAR   N mbox Sandboxes of template TMPL; until every one
//	                                                  has status.phase Running
//	bench-operator-go rate NS N RATE TMPL             N mbox Sandboxes created at RATE per second, each on
//	                                                  its own schedule slot; latency (seen_*) = the moment a
//	                                                  watch on SandboxClaims in NS delivers the claim's ADDED
//	                                                  event minus the moment a watch on Sandboxes delivers
//	                                                  the Sandbox's; p50/p99 also from the moment the
//	                                                  Sandbox's create request was sent
//	bench-operator-go lifecycle NS K TMPL PAR         K Sandboxes created, Running, Stopped, Running, gone
//	bench-operator-go clean NS KIND                   delete every object of KIND (claims|sandboxes) in NS,
//	                                                  then wait until no claim, agent-sandbox Sandbox, pod
//	                                                  or PVC is left in NS
//
// The kubeconfig is $KUBECONFIG. The client has no client-side rate limit (QPS -1), so the figures are
// the servers' and controllers', not the driver's. All waits are driven by watches (informers), not polls.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	gvrClaim   = schema.GroupVersionResource{Group: "extensions.agents.x-k8s.io", Version: "v1beta1", Resource: "sandboxclaims"}
	gvrMbox    = schema.GroupVersionResource{Group: "mbox.dev", Version: "v1alpha1", Resource: "sandboxes"}
	gvrAgentSb = schema.GroupVersionResource{Group: "agents.x-k8s.io", Version: "v1beta1", Resource: "sandboxes"}
	gvrPod     = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrPVC     = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	timeout    = 1800 * time.Second
)

func fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench-operator-go: "+f+"\n", a...)
	os.Exit(1)
}

func logf(f string, a ...any) { fmt.Fprintf(os.Stderr, "    "+f+"\n", a...) }

func newClient() dynamic.Interface {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		fail("kubeconfig: %v", err)
	}
	cfg.QPS = -1
	cfg.Timeout = 60 * time.Second
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fail("client: %v", err)
	}
	return c
}

// tracker keeps the latest state of every object of one resource in one namespace, from an informer,
// and the first moment each object satisfied the current predicate.
type tracker struct {
	mu    sync.Mutex
	cond  *sync.Cond
	objs  map[string]*unstructured.Unstructured
	first map[string]time.Time
	pred  func(*unstructured.Unstructured) bool
	stop  chan struct{}
	// watch events seen: ADDED, MODIFIED (a real change: resourceVersion differs), DELETED
	adds, mods, dels int
}

func track(c dynamic.Interface, gvr schema.GroupVersionResource, ns string, pred func(*unstructured.Unstructured) bool) *tracker {
	t := &tracker{objs: map[string]*unstructured.Unstructured{}, first: map[string]time.Time{}, pred: pred, stop: make(chan struct{})}
	t.cond = sync.NewCond(&t.mu)
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c, 0, ns, nil)
	inf := f.ForResource(gvr).Informer()
	set := func(o any) {
		now := time.Now()
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return
		}
		t.mu.Lock()
		if old, ok := t.objs[u.GetName()]; !ok {
			t.adds++
		} else if old.GetResourceVersion() != u.GetResourceVersion() {
			t.mods++
		}
		t.objs[u.GetName()] = u
		if _, seen := t.first[u.GetName()]; !seen && t.pred != nil && t.pred(u) {
			t.first[u.GetName()] = now
		}
		t.cond.Broadcast()
		t.mu.Unlock()
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, o any) { set(o) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if u, ok := o.(*unstructured.Unstructured); ok {
				t.mu.Lock()
				t.dels++
				delete(t.objs, u.GetName())
				t.cond.Broadcast()
				t.mu.Unlock()
			}
		},
	})
	f.Start(t.stop)
	if !cache.WaitForCacheSync(t.stop, inf.HasSynced) {
		fail("informer for %s did not sync", gvr.Resource)
	}
	// wake waiters regularly so that timeouts are noticed
	go func() {
		for {
			select {
			case <-t.stop:
				return
			case <-time.After(time.Second):
				t.mu.Lock()
				t.cond.Broadcast()
				t.mu.Unlock()
			}
		}
	}()
	return t
}

// setPred replaces the predicate and forgets every first-match time, then looks at the current objects.
func (t *tracker) setPred(p func(*unstructured.Unstructured) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pred, t.first = p, map[string]time.Time{}
	now := time.Now()
	for n, u := range t.objs {
		if p(u) {
			t.first[n] = now
		}
	}
}

// waitMatched waits until n objects satisfied the predicate; returns the moment the last one did.
func (t *tracker) waitMatched(n int, what string) time.Time {
	deadline := time.Now().Add(timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.first) < n {
		if time.Now().After(deadline) {
			fail("timed out waiting for %s: %d of %d", what, len(t.first), n)
		}
		t.cond.Wait()
	}
	var last time.Time
	for _, ts := range t.first {
		if ts.After(last) {
			last = ts
		}
	}
	return last
}

func (t *tracker) waitEmpty(what string) time.Time {
	deadline := time.Now().Add(timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.objs) > 0 {
		if time.Now().After(deadline) {
			fail("timed out waiting for %s: %d left", what, len(t.objs))
		}
		t.cond.Wait()
	}
	return time.Now()
}

func (t *tracker) firstTimes() map[string]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]time.Time, len(t.first))
	for k, v := range t.first {
		m[k] = v
	}
	return m
}

func claimReady(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func phaseIs(p string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		s, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return s == p
	}
}

func anyObj(*unstructured.Unstructured) bool { return true }

func newClaim(ns, name, pool string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"warmPoolRef": map[string]any{"name": pool}},
	}}
}

func newSandbox(ns, name, tmpl string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "mbox.dev/v1alpha1", "kind": "Sandbox",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"templateRef": map[string]any{"name": tmpl}},
	}}
}

// createAll creates the objects with par requests in flight; returns when every create has answered.
func createAll(c dynamic.Interface, gvr schema.GroupVersionResource, objs []*unstructured.Unstructured, par int) {
	ch := make(chan *unstructured.Unstructured)
	var wg sync.WaitGroup
	for i := 0; i < par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range ch {
				if _, err := c.Resource(gvr).Namespace(o.GetNamespace()).Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
					fail("create %s %s: %v", gvr.Resource, o.GetName(), err)
				}
			}
		}()
	}
	for _, o := range objs {
		ch <- o
	}
	close(ch)
	wg.Wait()
}

func pct(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]float64(nil), d...)
	sort.Float64s(s)
	i := int(p/100*float64(len(s))+0.999999) - 1 // nearest rank
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		fail("not a positive number: %q", s)
	}
	return n
}

func burst(c dynamic.Interface, kind, ns string, n int, ref string, par int) {
	var gvr schema.GroupVersionResource
	var pred func(*unstructured.Unstructured) bool
	objs := make([]*unstructured.Unstructured, n)
	for i := range objs {
		name := fmt.Sprintf("b-%04d", i)
		switch kind {
		case "claims":
			objs[i] = newClaim(ns, name, ref)
		case "sandboxes":
			objs[i] = newSandbox(ns, name, ref)
		default:
			fail("burst: unknown kind %q", kind)
		}
	}
	if kind == "claims" {
		gvr, pred = gvrClaim, claimReady
	} else {
		gvr, pred = gvrMbox, phaseIs("Running")
	}
	t := track(c, gvr, ns, pred)
	t0 := time.Now()
	createAll(c, gvr, objs, par)
	created := time.Since(t0)
	logf("%d %s created in %.2f s", n, kind, created.Seconds())
	last := t.waitMatched(n, kind+" ready")
	var each []float64
	for _, ts := range t.firstTimes() {
		each = append(each, ts.Sub(t0).Seconds())
	}
	fmt.Printf("n=%d\ncreated_s=%.2f\nall_ready_s=%.2f\np50_ready_s=%.2f\np99_ready_s=%.2f\n",
		n, created.Seconds(), last.Sub(t0).Seconds(), pct(each, 50), pct(each, 99))
}

func rate(c dynamic.Interface, ns string, n, perSec int, tmpl string) {
	claims := track(c, gvrClaim, ns, anyObj)
	sandboxes := track(c, gvrMbox, ns, anyObj)
	sent := make([]time.Time, n)
	answered := make([]time.Duration, n)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(perSec)
	t0 := time.Now().Add(50 * time.Millisecond)
	var lateMax time.Duration
	for i := 0; i < n; i++ {
		slot := t0.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(slot))
		if l := time.Since(slot); l > lateMax {
			lateMax = l
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			o := newSandbox(ns, fmt.Sprintf("r-%04d", i), tmpl)
			sent[i] = time.Now()
			if _, err := c.Resource(gvrMbox).Namespace(ns).Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
				fail("create sandbox: %v", err)
			}
			answered[i] = time.Since(sent[i])
		}(i)
	}
	wg.Wait()
	span := time.Since(t0)
	claims.waitMatched(n, "claims of the rate run")
	sandboxes.waitMatched(n, "sandboxes of the rate run")
	seen, born := claims.firstTimes(), sandboxes.firstTimes()
	var lat, own []float64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("r-%04d", i)
		ts, ok := seen[name]
		tb, okb := born[name]
		if !ok || !okb {
			fail("no claim or no sandbox %s seen", name)
		}
		lat = append(lat, float64(ts.Sub(sent[i]).Microseconds())/1000)
		own = append(own, float64(ts.Sub(tb).Microseconds())/1000)
	}
	var cr []float64
	for _, d := range answered {
		cr = append(cr, float64(d.Microseconds())/1000)
	}
	fmt.Printf("n=%d\nrate=%.1f\nsched_late_max_ms=%.1f\np50_ms=%.1f\np90_ms=%.1f\np99_ms=%.1f\nmax_ms=%.1f\n",
		n, float64(n)/span.Seconds(), float64(lateMax.Microseconds())/1000, pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100))
	fmt.Printf("create_p50_ms=%.1f\ncreate_p99_ms=%.1f\n", pct(cr, 50), pct(cr, 99))
	fmt.Printf("seen_p50_ms=%.1f\nseen_p99_ms=%.1f\nseen_max_ms=%.1f\n", pct(own, 50), pct(own, 99), pct(own, 100))
}

func patchAll(c dynamic.Interface, ns string, names []string, body string, par int) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ch {
				if _, err := c.Resource(gvrMbox).Namespace(ns).Patch(context.Background(), n, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
					fail("patch %s: %v", n, err)
				}
			}
		}()
	}
	for _, n := range names {
		ch <- n
	}
	close(ch)
	wg.Wait()
}

func deleteAll(c dynamic.Interface, gvr schema.GroupVersionResource, ns string, names []string, par int) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ch {
				err := c.Resource(gvr).Namespace(ns).Delete(context.Background(), n, metav1.DeleteOptions{})
				if err != nil && !isNotFound(err) {
					fail("delete %s: %v", n, err)
				}
			}
		}()
	}
	for _, n := range names {
		ch <- n
	}
	close(ch)
	wg.Wait()
}

func isNotFound(err error) bool {
	type statusErr interface{ Status() metav1.Status }
	if se, ok := err.(statusErr); ok {
		return se.Status().Code == 404
	}
	return false
}

func lifecycle(c dynamic.Interface, ns string, k int, tmpl string, par int) {
	t := track(c, gvrMbox, ns, phaseIs("Running"))
	cl := track(c, gvrClaim, ns, nil)
	objs := make([]*unstructured.Unstructured, k)
	names := make([]string, k)
	for i := range objs {
		names[i] = fmt.Sprintf("l-%04d", i)
		objs[i] = newSandbox(ns, names[i], tmpl)
	}
	step := func(what string, t0 time.Time) {
		logf("lifecycle: %s in %.2f s", what, time.Since(t0).Seconds())
		fmt.Printf("%s_s=%.2f\n", what, time.Since(t0).Seconds())
	}
	t0 := time.Now()
	createAll(c, gvrMbox, objs, par)
	t.waitMatched(k, "lifecycle sandboxes Running")
	step("running", t0)

	t.setPred(phaseIs("Stopped"))
	t0 = time.Now()
	patchAll(c, ns, names, `{"spec":{"state":"Stopped"}}`, par)
	t.waitMatched(k, "lifecycle sandboxes Stopped")
	step("stopped", t0)

	t.setPred(phaseIs("Running"))
	t0 = time.Now()
	patchAll(c, ns, names, `{"spec":{"state":"Running"}}`, par)
	t.waitMatched(k, "lifecycle sandboxes Running again")
	step("restarted", t0)

	t0 = time.Now()
	deleteAll(c, gvrMbox, ns, names, par)
	t.waitEmpty("lifecycle sandboxes gone")
	step("deleted", t0)
	cl.waitEmpty("lifecycle claims gone")
	t.mu.Lock()
	defer t.mu.Unlock()
	// the driver's own changes: K creates, 2K patches, K deletes (each delete of an object with a finalizer
	// is a MODIFIED setting deletionTimestamp, then DELETED when the finalizer goes)
	fmt.Printf("sb_mods=%d\nsb_mods_by_others=%d\n", t.mods, t.mods-3*k)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	fmt.Printf("claim_adds=%d\nclaim_mods=%d\nclaim_dels=%d\n", cl.adds, cl.mods, cl.dels)
}

func clean(c dynamic.Interface, ns, kind string) {
	var gvr schema.GroupVersionResource
	switch kind {
	case "claims":
		gvr = gvrClaim
	case "sandboxes":
		gvr = gvrMbox
	default:
		fail("clean: unknown kind %q", kind)
	}
	t0 := time.Now()
	l, err := c.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		fail("list: %v", err)
	}
	var names []string
	for _, o := range l.Items {
		names = append(names, o.GetName())
	}
	deleteAll(c, gvr, ns, names, 16)
	for _, r := range []schema.GroupVersionResource{gvr, gvrClaim, gvrAgentSb, gvrPod, gvrPVC} {
		track(c, r, ns, nil).waitEmpty(r.Resource + " gone in " + ns)
	}
	fmt.Printf("n=%d\ndeleted_s=%.2f\n", len(names), time.Since(t0).Seconds())
}

func main() {
	a := os.Args
	if len(a) < 2 {
		fail("usage: see the comment at the top of main.go")
	}
	c := newClient()
	switch {
	case a[1] == "burst" && len(a) == 7:
		burst(c, a[2], a[3], atoi(a[4]), a[5], atoi(a[6]))
	case a[1] == "rate" && len(a) == 6:
		rate(c, a[2], atoi(a[3]), atoi(a[4]), a[5])
	case a[1] == "lifecycle" && len(a) == 6:
		lifecycle(c, a[2], atoi(a[3]), a[4], atoi(a[5]))
	case a[1] == "clean" && len(a) == 4:
		clean(c, a[2], a[3])
	default:
		fail("bad arguments: %v", a[1:])
	}
}
