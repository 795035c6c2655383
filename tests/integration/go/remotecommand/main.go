// Command remotecommand runs one command through an exec endpoint of the Kubernetes API with client-go's
// WebSocket executor (tools/remotecommand.NewWebSocketExecutor, the one kubectl exec uses), so the tests
// can show that an exec subresource speaks the pods/exec protocol exactly as client-go expects it.
//
// Usage:
//
//	remotecommand [--kubeconfig FILE] --path /api/v1/namespaces/NS/pods/POD/exec [--container C] [--stdin] [--tty] -- COMMAND [ARG...]
//
// The remote stdout goes to stdout and the remote stderr to stderr (with --tty the server sends both on
// stdout); --stdin sends this program's stdin and closes the remote stdin at its end. The exit status is the
// remote command's, or 125 with the error on stderr when the exec itself failed.
//
// The executor offers the subprotocol v5.channel.k8s.io only (kubectl's choice: v5 carries the close of
// stdin), so a server must accept v5. On the local stack's KWOK, use --tty only with --stdin: KWOK 0.8.0's
// exec crashes on a terminal without stdin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// failed is the exit status when the exec did not run to a remote exit code (as docker and kubectl run use).
const failed = 125

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	path := flag.String("path", "", "API path of the exec subresource, without query, e.g. /api/v1/namespaces/NS/pods/POD/exec")
	container := flag.String("container", "", "container to run the command in (the container query parameter; omitted when empty)")
	stdin := flag.Bool("stdin", false, "send this program's stdin to the command")
	tty := flag.Bool("tty", false, "ask for a terminal (the remote stderr then arrives on stdout)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s --path PATH [flags] -- COMMAND [ARG...]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *path == "" || !strings.HasPrefix(*path, "/") || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *kubeconfig, *path, *container, *stdin, *tty, flag.Args())
	stop()
	if err == nil {
		return
	}
	// client-go reports a remote non-zero exit (channel 3's Status with reason NonZeroExitCode) as
	// k8s.io/utils/exec.CodeExitError
	var exit utilexec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitStatus())
	}
	fmt.Fprintf(os.Stderr, "remotecommand: %v\n", err)
	os.Exit(failed)
}

func run(ctx context.Context, kubeconfig, path, container string, stdin, tty bool, command []string) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	server, _, err := rest.DefaultServerUrlFor(config)
	if err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	// the query of kubectl exec (corev1.PodExecOptions): one command parameter per argument
	q := url.Values{}
	for _, c := range command {
		q.Add("command", c)
	}
	if container != "" {
		q.Set("container", container)
	}
	q.Set("stdout", "true")
	if stdin {
		q.Set("stdin", "true")
	}
	if tty {
		q.Set("tty", "true")
	} else {
		q.Set("stderr", "true")
	}
	u := *server
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()

	executor, err := remotecommand.NewWebSocketExecutor(config, "GET", u.String())
	if err != nil {
		return err
	}
	opts := remotecommand.StreamOptions{Stdout: os.Stdout, Tty: tty}
	if stdin {
		opts.Stdin = os.Stdin
	}
	if !tty {
		opts.Stderr = os.Stderr
	}
	return executor.StreamWithContext(ctx, opts)
}
