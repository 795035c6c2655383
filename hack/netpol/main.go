// The local real node's NetworkPolicy agent: sigs.k8s.io/kube-network-policies' controller, started with a
// kubeconfig (upstream's command only runs in a cluster) and with the nftables table and NFQUEUE number of
// one stack, so that two stacks on one machine never flush or steal each other's rules (hack/node.sh).
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the identity the agent reads pods, namespaces and NetworkPolicies with")
	node := flag.String("node-name", "", "the node whose pods this agent enforces policy for")
	table := flag.String("nftables-table", "kube-network-policies", "nftables table (inet family) the agent owns")
	queue := flag.Int("nfqueue-id", 100, "NFQUEUE number for the first packet of each connection")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *node == "" {
		klog.Error("--kubeconfig and --node-name are required")
		os.Exit(2)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer cancel()

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Errorf("reading %s: %v", *kubeconfig, err)
		os.Exit(1)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Errorf("making a client: %v", err)
		os.Exit(1)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(), factory.Core().V1().Namespaces(), factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			QueueID:     *queue,
			NodeName:    *node,
			NFTableName: *table,
			// NRI would give pod addresses before the API server has them, but its socket is the
			// machine's, not the stack's.
			NRIdisabled:         true,
			NetfilterBug1766Fix: true,
		})
	if err != nil {
		klog.Errorf("starting the controller: %v", err)
		os.Exit(1)
	}
	go func() {
		if err := controller.Run(ctx); err != nil {
			klog.Errorf("controller: %v", err)
			cancel()
		}
	}()
	factory.Start(ctx.Done())
	<-ctx.Done()
	// the controller removes its table when its context ends
	time.Sleep(2 * time.Second)
}
