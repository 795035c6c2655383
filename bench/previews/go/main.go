// The client of `make bench-previews` (bench/previews/run.sh), and both ends of the app it measures: one
// binary, three modes, the standard library only.
//
//	serve ADDR:  a small HTTP/1.1 server on ADDR (e.g. 127.0.0.1:0) answering every request with a
//	             27-byte body; prints addr=HOST:PORT once it listens, then serves until killed.
//	pipe ADDR:   one TCP connection to ADDR joined to stdin and stdout until both ends are done: the
//	             sandbox's .kwok-port-PORT, which KWOK runs once per forwarded connection.
//	load [FLAGS] URL: C connections, each sending GET URL one request after another for D; prints
//	             key=value lines: requests, errors, rps, p50_ms, p99_ms. -host sets the Host header (a
//	             preview host); -new-conn opens a new connection for every request instead of keeping it.
//
// Before the clock starts every connection makes one request that is not counted, so a connection's setup
// (and the port-forward stream behind it) is not in the keep-alive figures.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

const body = "hello from the bench server\n"

func main() {
	if len(os.Args) < 2 {
		fail("usage: bench-previews serve ADDR | pipe ADDR | load [-c N] [-d DUR] [-host HOST] [-new-conn] URL")
	}
	switch os.Args[1] {
	case "serve":
		serve(arg(2))
	case "pipe":
		pipe(arg(2))
	case "load":
		load(os.Args[2:])
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func arg(i int) string {
	if len(os.Args) <= i {
		fail(os.Args[1] + " needs an address")
	}
	return os.Args[i]
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench-previews:", msg)
	os.Exit(1)
}

func serve(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err.Error())
	}
	fmt.Printf("addr=%s\n", l.Addr())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
	fail((&http.Server{Handler: h}).Serve(l).Error())
}

func pipe(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fail(err.Error())
	}
	done := make(chan struct{})
	go func() {
		io.Copy(os.Stdout, c)
		os.Stdout.Close()
		close(done)
	}()
	io.Copy(c, os.Stdin)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	conns := fs.Int("c", 8, "connections at once")
	dur := fs.Duration("d", 5*time.Second, "how long to send requests")
	host := fs.String("host", "", "the Host header (default: the URL's)")
	newConn := fs.Bool("new-conn", false, "a new connection for every request")
	fs.Parse(args)
	if fs.NArg() != 1 || *conns < 1 {
		fail("load needs one URL and -c >= 1")
	}
	url := fs.Arg(0)

	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr error
		ready    sync.WaitGroup
		finished sync.WaitGroup
	)
	start := make(chan struct{})
	var deadline time.Time
	for i := 0; i < *conns; i++ {
		ready.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			// one connection per worker: its own transport, at most one connection in it
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableKeepAlives: *newConn,
				DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func() error {
				req, err := http.NewRequest("GET", url, nil)
				if err != nil {
					return err
				}
				if *host != "" {
					req.Host = *host
				}
				resp, err := c.Do(req)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != 200 || n != int64(len(body))) {
					err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
				}
				return err
			}
			warm := do()
			ready.Done()
			<-start
			if warm != nil {
				mu.Lock()
				errs++
				firstErr = errors.Join(firstErr, fmt.Errorf("warm-up: %w", warm))
				mu.Unlock()
				return
			}
			mine := make([]time.Duration, 0, 4096)
			nerr := 0
			var e error
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := do(); err != nil {
					nerr++
					if e == nil {
						e = err
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += nerr
			if e != nil && firstErr == nil {
				firstErr = e
			}
			mu.Unlock()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	deadline = t0.Add(*dur)
	close(start)
	finished.Wait()
	elapsed := time.Since(t0)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "bench-previews: first error:", firstErr)
	}
	if len(lat) == 0 {
		fail("no request succeeded")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat)) + 0.5)
		i = max(1, min(i, len(lat)))
		return float64(lat[i-1].Microseconds()) / 1000
	}
	fmt.Printf("requests=%d\nerrors=%d\nrps=%.0f\np50_ms=%.3f\np99_ms=%.3f\n", len(lat), errs,
		float64(len(lat))/elapsed.Seconds(), pct(0.5), pct(0.99))
}
