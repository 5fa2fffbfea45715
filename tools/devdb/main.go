// Command devdb runs FerretDB v1 (SQLite backend) embedded in one small process, so that the service and its
// tests have a real MongoDB-compatible database with nothing to install but the Go toolchain.
//
// Usage: devdb -listen 127.0.0.1:27018 -dir ./data
//
// It prints "devdb ready <mongodb-uri>" on stdout once the listener accepts connections, and exits 0 on
// SIGTERM or SIGINT after closing every connection and the SQLite files.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to listen on (loopback only)")
	dir := flag.String("dir", "data", "directory for the SQLite database files")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	exitWithParent := flag.Bool("exit-with-parent", false, "stop when the process that started devdb exits")
	flag.Parse()

	if err := run(*listen, *dir, *logLevel, *exitWithParent); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, logLevel string, exitWithParent bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("bad -listen %q: only loopback addresses are allowed", listen)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("cannot create data directory: %w", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if exitWithParent {
		// A service or test run that crashes cannot send SIGTERM; without this its database would live on,
		// holding the port and the SQLite files.
		parent := os.Getppid()
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			for ctx.Err() == nil {
				if os.Getppid() != parent {
					cancel()
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// Run must have started before the listener address is known; wait until a connection succeeds so that
	// "ready" means ready.
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listener on %s did not come up: %w", listen, err)
		}
		select {
		case err := <-done:
			return fmt.Errorf("stopped before ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Printf("devdb ready %s\n", f.MongoDBURI())

	return <-done
}
