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
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
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
	go indexIDLookups(ctx, abs, logger)

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

// indexIDLookups makes `_id` lookups use an index.
//
// FerretDB v1.24's SQLite backend finds, updates and deletes documents by _id with the expression
// `_ferretdb_sjson->'$._id'`, but creates its unique _id index on `_ferretdb_sjson->"_id"`. SQLite uses an
// expression index only for the very same expression, so every lookup by _id scans the whole table (the unique
// index still serves inserts). Every quarter second this adds, to each collection table that lacks it, an index on
// the expression the queries use. A new collection is indexed within that time; until then it is only slower.
func indexIDLookups(ctx context.Context, dir string, logger *slog.Logger) {
	type handle struct {
		db   *sql.DB
		info os.FileInfo
	}
	open := map[string]*handle{}
	defer func() {
		for _, h := range open {
			h.db.Close()
		}
	}()

	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		present := map[string]os.FileInfo{}
		for _, file := range files {
			if info, err := os.Stat(file); err == nil {
				present[file] = info
			}
		}

		// A dropped database's file is gone, or replaced by a new one of the same name: let go of the old one.
		for file, h := range open {
			if info, ok := present[file]; !ok || !os.SameFile(info, h.info) {
				h.db.Close()
				delete(open, file)
			}
		}

		for file, info := range present {
			h := open[file]
			if h == nil {
				db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
				if err != nil {
					continue
				}
				db.SetMaxOpenConns(1)
				h = &handle{db: db, info: info}
				open[file] = h
			}

			if err := indexTables(ctx, h.db); err != nil && ctx.Err() == nil {
				logger.Debug("devdb: indexing _id lookups failed; will retry", slog.String("file", file), slog.Any("err", err))
			}
		}
	}
}

// indexTables adds the lookup index to every collection table that lacks it (a dropped and re-created
// collection gets a new table without it).
func indexTables(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c WHERE NOT EXISTS (
		SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '__id_lookup')`)
	if err != nil {
		return err // no collection yet
	}

	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()

	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON "%s" (_ferretdb_sjson->'$._id')`,
			strings.ReplaceAll(t+"__id_lookup", `"`, `""`), strings.ReplaceAll(t, `"`, `""`))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}

	return nil
}
