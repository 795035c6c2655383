// The client of `make bench-sessions` (bench/sessions/run.sh): opens exec sessions with client-go's WebSocket
// executor (tools/remotecommand.NewWebSocketExecutor, the one kubectl exec uses) through any exec path of
// the Kubernetes API, so mbox's sessions and pods/exec are measured by the same client, and prints
// key=value lines for the script's table.
//
//	-mode echo: one session with a TTY (stdin open, a terminal size sent); once the shell is quiet, N
//	            keystrokes one after another: one byte written on stdin -> the same byte read back on
//	            stdout; prints p50_ms, p99_ms.
//	-mode exec: N sessions one after another, each running the command without stdin or TTY: connect ->
//	            exit code 0; prints p50_ms, p99_ms.
//	-mode hold: N sessions with a TTY over the paths (round robin), opened PAR at a time; each is open once
//	            a keystroke came back. Prints open=N, then holds them until stdin ends, then ends each shell.
//
// -path is an exec path without its query, e.g. /api/v1/namespaces/NS/pods/POD/exec (repeatable for hold);
// the words after -- are the command (command= parameters; none for mbox's terminal, which runs its own).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
)

type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

// size sends one terminal size, then nothing until the session ends (nil ends the resize stream).
type size struct{ sent, done chan struct{} }

func (s *size) Next() *remotecommand.TerminalSize {
	select {
	case <-s.sent:
		<-s.done
		return nil
	default:
		close(s.sent)
		return &remotecommand.TerminalSize{Width: 80, Height: 24}
	}
}

// out hands every byte written to the session's stdout to a channel.
type out chan byte

func (o out) Write(p []byte) (int, error) {
	for _, b := range p {
		o <- b
	}
	return len(p), nil
}

// session is one open TTY session: its stdin, what comes out of it, and its end.
type session struct {
	stdin  *io.PipeWriter
	stdout out
	ended  chan error
	stop   context.CancelFunc
}

func execURL(config *rest.Config, path string, command []string, tty bool) (string, error) {
	server, _, err := rest.DefaultServerUrlFor(config)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	for _, c := range command {
		q.Add("command", c)
	}
	if strings.Contains(path, "/pods/") {
		q.Set("container", "sandbox")
	}
	q.Set("stdout", "true")
	if tty {
		q.Set("stdin", "true")
		q.Set("tty", "true")
	} else {
		q.Set("stderr", "true")
	}
	u := *server
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// open starts a TTY session; it is connected once something comes back on stdout.
func open(config *rest.Config, u string) (*session, error) {
	ex, err := remotecommand.NewWebSocketExecutor(config, "GET", u)
	if err != nil {
		return nil, err
	}
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{stdin: w, stdout: make(out, 1<<16), ended: make(chan error, 1), stop: cancel}
	sz := &size{sent: make(chan struct{}), done: make(chan struct{})}
	go func() {
		err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: r, Stdout: s.stdout, Tty: true,
			TerminalSizeQueue: sz})
		close(sz.done)
		s.ended <- err
	}()
	return s, nil
}

// quiet reads stdout until nothing came for gap (at most limit); an error when the session ended first.
func (s *session) quiet(gap, limit time.Duration) error {
	end := time.After(limit)
	for {
		select {
		case <-s.stdout:
		case err := <-s.ended:
			return fmt.Errorf("the session ended: %v", err)
		case <-time.After(gap):
			return nil
		case <-end:
			return errors.New("the shell never went quiet")
		}
	}
}

// key writes one byte and waits for it to come back; the round trip.
func (s *session) key(b byte, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if _, err := s.stdin.Write([]byte{b}); err != nil {
		return 0, err
	}
	end := time.After(limit)
	for {
		select {
		case c := <-s.stdout:
			if c == b {
				return time.Since(t0), nil
			}
		case err := <-s.ended:
			return 0, fmt.Errorf("the session ended: %v", err)
		case <-end:
			return 0, fmt.Errorf("no echo of %q in %v", b, limit)
		}
	}
}

// close ends the shell (the line killed, then exit) and the session.
func (s *session) close() {
	_, _ = s.stdin.Write([]byte("\x15exit\r"))
	select {
	case <-s.ended:
	case <-time.After(5 * time.Second):
	}
	s.stop()
	_ = s.stdin.Close()
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
	mode := flag.String("mode", "echo", "echo, exec or hold")
	var ps paths
	flag.Var(&ps, "path", "exec path without query (repeatable for hold)")
	n := flag.Int("n", 100, "keystrokes (echo), runs (exec) or sessions (hold)")
	par := flag.Int("par", 10, "sessions opened at once (hold)")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "bench-sessions:", err)
		os.Exit(1)
	}
	if len(ps) == 0 {
		fail(errors.New("give -path"))
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	config.QPS, config.Burst = -1, 0
	urls := make([]string, len(ps))
	for i, p := range ps {
		if urls[i], err = execURL(config, p, flag.Args(), *mode != "exec"); err != nil {
			fail(err)
		}
	}

	switch *mode {
	case "echo":
		s, err := open(config, urls[0])
		if err != nil {
			fail(err)
		}
		if err := s.quiet(500*time.Millisecond, 20*time.Second); err != nil {
			fail(err)
		}
		d := make([]time.Duration, 0, *n)
		for i := 0; i < *n; i++ {
			// a fresh line every 50 keys: the echo stays that of one short line
			if i%50 == 0 && i > 0 {
				_, _ = s.stdin.Write([]byte{0x15})
				if err := s.quiet(100*time.Millisecond, 5*time.Second); err != nil {
					fail(err)
				}
			}
			t, err := s.key(byte('a'+i%26), 10*time.Second)
			if err != nil {
				fail(err)
			}
			d = append(d, t)
		}
		s.close()
		fmt.Printf("p50_ms=%.3f\np99_ms=%.3f\n", pct(d, 0.5), pct(d, 0.99))
	case "exec":
		d := make([]time.Duration, 0, *n)
		for i := 0; i < *n; i++ {
			t0 := time.Now()
			ex, err := remotecommand.NewWebSocketExecutor(config, "GET", urls[0])
			if err != nil {
				fail(err)
			}
			if err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard,
				Stderr: io.Discard}); err != nil {
				fail(fmt.Errorf("run %d: %w", i, err))
			}
			d = append(d, time.Since(t0))
		}
		fmt.Printf("p50_ms=%.3f\np99_ms=%.3f\n", pct(d, 0.5), pct(d, 0.99))
	case "hold":
		ss := make([]*session, *n)
		errs := make(chan error, *n)
		slots := make(chan struct{}, *par)
		var wg sync.WaitGroup
		for i := 0; i < *n; i++ {
			wg.Add(1)
			slots <- struct{}{}
			go func(i int) {
				defer func() { <-slots; wg.Done() }()
				s, err := open(config, urls[i%len(urls)])
				if err == nil {
					if err = s.quiet(300*time.Millisecond, 30*time.Second); err == nil {
						_, err = s.key('x', 30*time.Second)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
					return
				}
				ss[i] = s
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			fail(err)
		}
		fmt.Printf("open=%d\n", *n)
		_, _ = io.Copy(io.Discard, os.Stdin)
		for _, s := range ss {
			wg.Add(1)
			go func(s *session) { defer wg.Done(); s.close() }(s)
		}
		wg.Wait()
	default:
		fail(fmt.Errorf("unknown mode %q", *mode))
	}
}
