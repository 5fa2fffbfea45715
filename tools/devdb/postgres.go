package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

type postgres struct {
	url       string
	cmd       *exec.Cmd
	exited    chan struct{} // closed once the postmaster has exited
	socketDir string
}

// settings are given on the command line rather than written to postgresql.conf, so that they follow devdb's
// code for every existing cluster too.
func settings(socketDir string, maxConnections int) []string {
	s := map[string]string{
		// Nothing but this process tree can reach the cluster: no TCP, a private socket directory.
		"listen_addresses":        "",
		"unix_socket_directories": socketDir,
		"unix_socket_permissions": "0700",
		"max_connections":         strconv.Itoa(maxConnections),
		// Each update by _id is a transaction of its own; waiting for its WAL flush dominated an HR batch.
		// Without the wait a crash of PostgreSQL or of the machine may lose the last ~0.6 s of acknowledged
		// writes (3 × wal_writer_delay), never more and never with corruption: fsync stays on.
		"synchronous_commit": "off",
		"wal_writer_delay":   "200ms",
		// No replication: WAL holds only what crash recovery needs.
		"wal_level":       "minimal",
		"max_wal_senders": "0",
		"shared_buffers":  "128MB",
		// Short queries only: compiling them costs more than it saves.
		"jit":              "off",
		"timezone":         "UTC",
		"log_checkpoints":  "off",
		"log_min_messages": "warning",
		// FerretDB never leaves a transaction idle; should anything else do so, it must not hold locks forever.
		"idle_in_transaction_session_timeout": "10min",
	}
	args := make([]string, 0, 2*len(s))
	for k, v := range s {
		args = append(args, "-c", k+"="+v)
	}
	return args
}

// startPostgres creates the cluster on first use, starts the postmaster and waits until it accepts connections.
func startPostgres(ctx context.Context, binDir, dataDir string, maxConnections int, logger *slog.Logger) (*postgres, error) {
	initdb, server := filepath.Join(binDir, "initdb"), filepath.Join(binDir, "postgres")
	for _, b := range []string{initdb, server} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("PostgreSQL binaries missing (run `npm install`): %w", err)
		}
	}

	as, err := unprivileged()
	if err != nil {
		return nil, err
	}
	if err := as.canReach(dataDir); err != nil {
		return nil, err
	}

	socketDir, err := makeSocketDir(filepath.Join(filepath.Dir(dataDir), "socket"))
	if err != nil {
		return nil, err
	}
	if err := as.own(socketDir); err != nil {
		os.RemoveAll(socketDir)
		return nil, err
	}

	fail := func(err error) (*postgres, error) {
		os.RemoveAll(socketDir)
		return nil, err
	}

	if err := waitForFormerPostmaster(ctx, dataDir); err != nil {
		return fail(err)
	}

	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		began := time.Now()
		if err := initCluster(ctx, initdb, dataDir, as); err != nil {
			return fail(err)
		}
		logger.Info("devdb: new PostgreSQL cluster", slog.String("dir", dataDir), slog.Duration("took", time.Since(began)))
	}

	p := &postgres{url: pgURL(socketDir), exited: make(chan struct{}), socketDir: socketDir}
	p.cmd = exec.Command(server, append([]string{"-D", dataDir}, settings(socketDir, maxConnections)...)...)
	p.cmd.Stdout = os.Stderr
	p.cmd.Stderr = os.Stderr
	p.cmd.SysProcAttr = as.attrs()
	// If devdb dies (SIGKILL, crash), the kernel sends the postmaster SIGINT: a fast shutdown. The signal follows
	// the thread that started the child, so that thread stays locked to this goroutine for the child's lifetime.
	p.cmd.SysProcAttr.Pdeathsig = syscall.SIGINT

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, after the postmaster
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return fail(fmt.Errorf("starting PostgreSQL: %w", err))
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(attempt, p.url)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return p, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			p.stop(logger)
			return nil, fmt.Errorf("PostgreSQL did not accept connections: %w", err)
		}
		select {
		case <-p.exited:
			os.RemoveAll(socketDir)
			return nil, fmt.Errorf("PostgreSQL exited at start (see its log above): %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// makeSocketDir makes the private directory of PostgreSQL's unix socket: preferred beside the cluster, so that a
// killed devdb leaves nothing elsewhere, but a socket path must fit in 107 bytes, so a deep DATA_DIR gets one in
// the system's temporary directory.
func makeSocketDir(preferred string) (string, error) {
	if len(preferred)+len("/.s.PGSQL.5432.lock") < 100 {
		if err := os.MkdirAll(preferred, 0o700); err != nil {
			return "", err
		}
		return preferred, os.Chmod(preferred, 0o700)
	}
	return os.MkdirTemp("", "devdb-pg-")
}

// stop asks for a fast shutdown (open transactions roll back, a checkpoint is written) and waits for it.
func (p *postgres) stop(logger *slog.Logger) {
	defer os.RemoveAll(p.socketDir)
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		logger.Warn("devdb: PostgreSQL did not stop within 20 s; sending SIGQUIT")
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		<-p.exited
	}
}

func initCluster(ctx context.Context, initdb, dataDir string, as runAs) error {
	// initdb writes into a fresh directory beside the final one, which appears only once complete: a start
	// interrupted here leaves no half-made cluster behind.
	tmp := dataDir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := as.own(tmp); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, initdb, "-D", tmp, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
		"--no-instructions", "--no-sync")
	cmd.SysProcAttr = as.attrs()
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("initdb failed: %w: %s", err, strings.TrimSpace(string(out)))
	}
	// --no-sync saves a second; one sync of the new files keeps a machine crash from corrupting the cluster.
	syscall.Sync()
	return os.Rename(tmp, dataDir)
}

// waitForFormerPostmaster waits for a postmaster still running on dataDir to go away: one that a killed devdb
// left shutting down (that takes a moment), or fails if it does not (another devdb on the same directory).
func waitForFormerPostmaster(ctx context.Context, dataDir string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
		if err != nil {
			return nil
		}
		pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
			return nil // a stale file: PostgreSQL itself checks and removes it
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another PostgreSQL (pid %d) is running on %s", pid, dataDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runAs says how PostgreSQL runs. It refuses to run as root; as root, devdb runs it in a user namespace of its
// own where it is the unprivileged user nobody mapped onto root outside (so it owns the data directory wherever
// DATA_DIR is, and no system user is created), or, where user namespaces are not allowed, as the system user
// nobody itself (the data directory then belongs to nobody).
type runAs struct {
	mode     string // "self", "userns" or "user"
	uid, gid int
}

func unprivileged() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{mode: "self"}, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return runAs{}, fmt.Errorf("running as root, PostgreSQL needs the unprivileged user nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ns := runAs{mode: "userns", uid: uid, gid: gid}
	probe := exec.Command("/bin/true")
	probe.SysProcAttr = ns.attrs()
	if err := probe.Run(); err == nil {
		return ns, nil
	}
	return runAs{mode: "user", uid: uid, gid: gid}, nil
}

func (r runAs) attrs() *syscall.SysProcAttr {
	switch r.mode {
	case "userns":
		return &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: r.uid, HostID: 0, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: r.gid, HostID: 0, Size: 1}},
		}
	case "user":
		return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}}
	default:
		return &syscall.SysProcAttr{}
	}
}

// canReach fails early, with the remedy, when PostgreSQL running as nobody could not reach the data directory.
func (r runAs) canReach(dataDir string) error {
	if r.mode != "user" {
		return nil
	}
	for dir := filepath.Dir(dataDir); ; dir = filepath.Dir(dir) {
		if info, err := os.Stat(dir); err == nil && info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("running as root where user namespaces are not allowed, PostgreSQL runs as nobody, "+
				"which cannot enter %s: make it traversable (chmod o+x), choose another DATA_DIR, or run as another user", dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// own gives a directory devdb made (and everything in it) to the user PostgreSQL runs as.
func (r runAs) own(dir string) error {
	if r.mode != "user" {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, r.uid, r.gid)
	})
}
