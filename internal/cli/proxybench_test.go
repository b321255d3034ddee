//go:build linux

package cli

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// BenchmarkProxy measures what `dsqlenv proxy` costs against connecting straight to the
// cluster, in one run on one PostgreSQL 18 behind one DSQL double (internal/testkit):
//
//   - direct: pgbench or psql (Debian's, on libpq 18) to the double over verify-full TLS with
//     direct negotiation (ALPN postgresql), a token from `dsqlenv token` as the password;
//   - proxy: the same programs to the proxy's Unix socket; the proxy (this binary, built by
//     TestMain) mints a token per session and opens the same kind of TLS session to the
//     same double.
//
// So the ratio proxy/direct is the proxy's extra hop alone. When pgbouncer is installed it is
// the anchor, a third side: the same hop in C (session pooling, each server connection used
// once, verify-full TLS to the double with the token as the password). Each measure runs in
// rounds of direct, proxy (and pgbouncer), side by side, and is judged on the median of the
// per-round ratios: the machine's noise moves the sides of a round alike. Measured:
//
//   - pgbench -S, 8 clients (2 threads), for BENCH_PROXY_SECONDS (20) seconds: TPS;
//   - pgbench -S -C (a new connection per transaction), 8 clients, a fixed number of
//     transactions so that every proxy run stays inside the proxy's pacing burst (1,000 new
//     upstream connections; the proxy waits for refill between runs): TPS;
//   - the same with one client: the latency difference is the time the proxy adds to each
//     connection; the proxy's CPU time per connection (/proc) is its own work;
//   - psql "copy big to stdout" > /dev/null of a BENCH_PROXY_COPY_ROWS-row table of 1,000-byte
//     rows (1,000,000: about 1 GB of COPY data): MB/s;
//   - a fresh proxy's VmRSS before and with 200 idle sessions.
//
// Each line also gives the CPU time per transaction of pgbench, of the hop (the proxy or
// pgbouncer, from /proc) and of this process (the double). It runs once whatever b.N is
// (bench/run passes -benchtime 1x) and reports the ratios as metrics and every measurement as
// lines on stdout starting "proxybench: ". BENCH_PROXY_PERF=FILE records the proxy with perf;
// BENCH_PROXY_GOMAXPROCS=N runs the proxy with GOMAXPROCS=N.
func BenchmarkProxy(b *testing.B) {
	// About 12 minutes on a loaded 2-core machine, longer when it is busier: under a -timeout
	// below 45 minutes (go test's default 10, as in make gobench) it could be killed half-way.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 && d < 45*time.Minute {
			b.Skipf("takes 12 minutes or more: run it with -timeout 60m or more (make bench does), not -timeout %s", d)
		}
	}
	rounds := envInt(b, "BENCH_PROXY_ROUNDS", 3)
	seconds := envInt(b, "BENCH_PROXY_SECONDS", 20)
	copyRows := envInt(b, "BENCH_PROXY_COPY_ROWS", 1000000)
	const idleSessions = 200

	psql, libpq18, pgbench := benchClients(b)
	pg := testkit.StartPostgresWith(b, testkit.Options{Version: 18})
	// 200 idle sessions through the proxy are 200 server sessions: above the default 100.
	pg.SQL(b, "ALTER SYSTEM SET max_connections = 300")
	restartPostgres(b, pg)
	pg.SQL(b, "CREATE ROLE admin LOGIN SUPERUSER")
	runOK(b, exec.Command(pgbench, "-i", "-q", "-s", "10", "-h", pg.Socket, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "postgres"), nil)
	pg.SQL(b, fmt.Sprintf("CREATE TABLE big AS SELECT repeat('x', 1000) AS x FROM generate_series(1, %d); VACUUM ANALYZE", copyRows))
	copyBytes := int64(copyRows) * 1001 // 1,000 characters and a newline a row

	// The double's own connection limits are out of the way: the proxy's pacing is its own.
	d := testkit.StartDSQL(b, pg, testkit.DSQLOptions{Host: "localhost", RatePerSecond: 1e6, Burst: 1000000})
	dir := b.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: %s\n    port: %d\n    sslrootcert: %s\n    expires_in: 1h\n", d.Region, d.Port, d.CAFile)), 0o600); err != nil {
		b.Fatal(err)
	}
	env := benchEnv(b, "DSQLENV_CONFIG="+cfg)
	if v := os.Getenv("BENCH_PROXY_GOMAXPROCS"); v != "" { // an experiment: the proxy's threads
		env = append(env, "GOMAXPROCS="+v)
	}
	tok := exec.Command(binPath, "token", "p")
	tok.Env = env
	token := strings.TrimSpace(runOK(b, tok, nil))

	runtime := filepath.Join(dir, "run")
	p := startBenchProxy(b, append(slices.Clone(env), "XDG_RUNTIME_DIR="+runtime))
	sock := filepath.Join(runtime, "dsqlenv", "p")

	direct := append(slices.Clone(libpq18), "PATH="+os.Getenv("PATH"), "HOME="+dir,
		"PGHOST=localhost", "PGHOSTADDR=127.0.0.1", "PGPORT="+strconv.Itoa(d.Port), "PGUSER=admin", "PGDATABASE=postgres",
		"PGSSLMODE=verify-full", "PGSSLROOTCERT="+d.CAFile, "PGSSLNEGOTIATION=direct", "PGPASSWORD="+token)
	viaProxy := append(slices.Clone(libpq18), "PATH="+os.Getenv("PATH"), "HOME="+dir, "PGHOST="+sock, "PGUSER=admin", "PGDATABASE=postgres")
	type side struct {
		name string
		env  []string
		pid  int // the hop's process, whose CPU is counted; 0 for none
	}
	sides := []side{{"direct", direct, 0}, {"proxy", viaProxy, p.cmd.Process.Pid}}
	// The anchor, when pgbouncer is installed: one more hop of the same shape, in C.
	if bouncer := startPgbouncer(b, d, token); bouncer != nil {
		sides = append(sides, side{"pgbouncer", append(slices.Clone(libpq18), "PATH="+os.Getenv("PATH"), "HOME="+dir,
			"PGHOST="+bouncer.sock, "PGPORT=6432", "PGUSER=admin", "PGDATABASE=postgres"), bouncer.cmd.Process.Pid})
	}
	names := make([]string, len(sides))
	for i, s := range sides {
		names[i] = s.name
	}

	// On stdout, not b.Logf: the testing package keeps only the first 10 lines of a
	// benchmark's log.
	logf := func(format string, args ...any) { fmt.Printf("proxybench: "+format+"\n", args...) }
	logf("proxy benchmark: PostgreSQL 18 behind the DSQL double; pgbench and psql 15 on libpq 18; %d rounds of %s", rounds, strings.Join(names, ", "))
	// anchor reports the pgbouncer/direct ratios, when there is an anchor.
	anchor := func(what string, ratios []float64) {
		if len(ratios) > 0 {
			logf("%s: pgbouncer/direct per round %s, median %.3f", what, fmtRatios(ratios), median(ratios))
		}
	}
	// judged judges a throughput ratio of the proxy against pgbouncer's, the anchor's, in
	// the same run: the target of -S and -C.
	judged := func(what string, ratios []float64, proxy float64) {
		anchor(what, ratios)
		if len(ratios) > 0 {
			logf("%s: proxy/direct %.3f against pgbouncer/direct %.3f (target ≥ pgbouncer's): %s", what, proxy, median(ratios), verdict(proxy >= median(ratios)))
		}
	}

	// The proxy paces new upstream connections (100 a second, bursts of 1,000); a -C run
	// through it starts with a full bucket when it waits for the refill of what the last took.
	var spent int
	var spentAt time.Time
	refill := func() {
		if wait := time.Duration(float64(spent)/100*float64(time.Second)) + time.Second - time.Since(spentAt); spent > 0 && wait > 0 {
			time.Sleep(wait)
		}
	}
	hopCPU := func(s side) time.Duration {
		if s.pid == 0 {
			return 0
		}
		return procCPU(b, s.pid)
	}

	type sample struct {
		pgbenchResult
		hop    time.Duration // the hop's (proxy's, pgbouncer's) user+system CPU during the run
		client time.Duration // pgbench's own user+system CPU
		double time.Duration // this process's: the DSQL double's, mostly
	}
	bench := func(i int, args ...string) sample {
		s := sides[i]
		if s.name == "proxy" && slices.Contains(args, "-C") {
			refill()
		}
		cpu0, self0 := hopCPU(s), selfCPU()
		cmd := exec.Command(pgbench, append([]string{"-n", "-S", "-j", "2"}, args...)...)
		out := runOK(b, cmd, s.env)
		r := sample{pgbenchResult: parsePgbench(b, out), hop: hopCPU(s) - cpu0, double: selfCPU() - self0}
		r.client = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if s.name == "proxy" && slices.Contains(args, "-C") {
			spent, spentAt = r.transactions+1, time.Now()
		}
		return r
	}
	line := func(what string, r int, i int, res sample) {
		logf("%s  round %d %-9s  tps %8.1f  %6d tx  latency %7.3f ms  connection %6.3f ms  CPU µs/tx: pgbench %4.0f, hop %4.0f, double %4.0f",
			what, r, sides[i].name, res.tps, res.transactions, res.latency, res.connTime, perTx(res.client, res.transactions), perTx(res.hop, res.transactions), perTx(res.double, res.transactions))
	}

	// 1. pgbench -S, 8 clients, fixed duration.
	var ratios, anchors []float64
	for r := 1; r <= rounds; r++ {
		res := make([]sample, len(sides))
		for i := range sides {
			var perf *exec.Cmd
			if file := os.Getenv("BENCH_PROXY_PERF"); file != "" && i == 1 {
				perf = startPerf(b, p.cmd.Process.Pid, fmt.Sprintf("%s.S.%d", file, r))
			}
			res[i] = bench(i, "-c", "8", "-T", strconv.Itoa(seconds))
			stopPerf(perf)
			line(fmt.Sprintf("pgbench -S -c 8 -T %d", seconds), r, i, res[i])
		}
		ratios = append(ratios, res[1].tps/res[0].tps)
		if len(res) > 2 {
			anchors = append(anchors, res[2].tps/res[0].tps)
		}
	}
	sRatio := median(ratios)
	logf("pgbench -S -c 8: proxy/direct TPS per round %s, median %.3f", fmtRatios(ratios), sRatio)
	judged("pgbench -S -c 8", anchors, sRatio)
	b.ReportMetric(sRatio, "S-tps-ratio")

	// 2. pgbench -S -C, 8 clients: 50 transactions each, 400 connections a run.
	ratios, anchors = nil, nil
	for r := 1; r <= rounds; r++ {
		res := make([]sample, len(sides))
		for i := range sides {
			res[i] = bench(i, "-C", "-c", "8", "-t", "50")
			line("pgbench -S -C -c 8 -t 50", r, i, res[i])
		}
		ratios = append(ratios, res[1].tps/res[0].tps)
		if len(res) > 2 {
			anchors = append(anchors, res[2].tps/res[0].tps)
		}
	}
	cRatio := median(ratios)
	logf("pgbench -S -C -c 8: proxy/direct TPS per round %s, median %.3f", fmtRatios(ratios), cRatio)
	judged("pgbench -S -C -c 8", anchors, cRatio)
	b.ReportMetric(cRatio, "C-tps-ratio")

	// 3. pgbench -S -C, one client: what the proxy adds to each connection.
	var added, cpu, anchorCPU []float64
	anchors = nil
	for r := 1; r <= rounds; r++ {
		res := make([]sample, len(sides))
		for i := range sides {
			var perf *exec.Cmd
			if file := os.Getenv("BENCH_PROXY_PERF"); file != "" && i == 1 {
				refill()
				perf = startPerf(b, p.cmd.Process.Pid, fmt.Sprintf("%s.C.%d", file, r))
			}
			res[i] = bench(i, "-C", "-c", "1", "-j", "1", "-t", "100")
			stopPerf(perf)
			line("pgbench -S -C -c 1 -t 100", r, i, res[i])
		}
		added = append(added, res[1].latency-res[0].latency)
		cpu = append(cpu, perTx(res[1].hop, res[1].transactions)/1000)
		if len(res) > 2 {
			anchors = append(anchors, res[2].latency-res[0].latency)
			anchorCPU = append(anchorCPU, perTx(res[2].hop, res[2].transactions)/1000)
		}
	}
	addedMs, cpuMs := median(added), median(cpu)
	logf("pgbench -S -C -c 1: latency added per connection by the proxy, per round %s ms, median %.3f ms; the proxy's CPU per connection, per round %s ms, median %.3f ms",
		fmtRatios(added), addedMs, fmtRatios(cpu), cpuMs)
	if len(anchors) > 0 {
		logf("pgbench -S -C -c 1: latency added per connection by pgbouncer, per round %s ms, median %.3f ms; pgbouncer's CPU per connection, per round %s ms, median %.3f ms; the proxy's %.3f ms (target ≤ pgbouncer's): %s",
			fmtRatios(anchors), median(anchors), fmtRatios(anchorCPU), median(anchorCPU), cpuMs, verdict(cpuMs <= median(anchorCPU)))
	}
	b.ReportMetric(addedMs, "C-added-ms/conn")
	b.ReportMetric(cpuMs, "C-proxy-cpu-ms/conn")

	// 4. COPY of the big table to /dev/null.
	ratios, anchors = nil, nil
	for r := 1; r <= rounds; r++ {
		mbs := make([]float64, len(sides))
		for i, s := range sides {
			cmd := exec.Command(psql, "-X", "-q", "-c", "copy big to stdout")
			cpu0, self0 := hopCPU(s), selfCPU()
			start := time.Now()
			runOK(b, cmd, s.env)
			took := time.Since(start)
			hop, double := hopCPU(s)-cpu0, selfCPU()-self0
			mbs[i] = float64(copyBytes) / 1e6 / took.Seconds()
			logf("copy big to stdout (%d rows, %.0f MB)  round %d %-9s  %6.2f s  %6.1f MB/s  CPU s: psql %.2f, hop %.2f, double %.2f",
				copyRows, float64(copyBytes)/1e6, r, s.name, took.Seconds(), mbs[i],
				(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), hop.Seconds(), double.Seconds())
		}
		ratios = append(ratios, mbs[1]/mbs[0])
		if len(mbs) > 2 {
			anchors = append(anchors, mbs[2]/mbs[0])
		}
	}
	copyRatio := median(ratios)
	logf("copy to stdout: proxy/direct MB/s per round %s, median %.3f (target ≥ 0.9): %s", fmtRatios(ratios), copyRatio, verdict(copyRatio >= 0.9))
	anchor("copy to stdout", anchors)
	b.ReportMetric(copyRatio, "copy-MBps-ratio")
	p.stop(b)

	// 5. A fresh proxy's memory with 200 idle sessions.
	runtime2 := filepath.Join(dir, "run2")
	p2 := startBenchProxy(b, append(slices.Clone(env), "XDG_RUNTIME_DIR="+runtime2))
	conninfo := "host=" + filepath.Join(runtime2, "dsqlenv", "p") + " user=admin dbname=postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	warm, err := pgconn.Connect(ctx, conninfo)
	if err != nil {
		b.Fatalf("a session through the fresh proxy: %v", err)
	}
	warm.Close(ctx)
	time.Sleep(time.Second)
	before := vmRSS(b, p2.cmd.Process.Pid)
	conns := make([]*pgconn.PgConn, 0, idleSessions)
	defer func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}()
	for i := 0; i < idleSessions; i++ {
		c, err := pgconn.Connect(ctx, conninfo)
		if err != nil {
			b.Fatalf("session %d through the proxy: %v", i+1, err)
		}
		if _, err := c.Exec(ctx, "select 1").ReadAll(); err != nil {
			b.Fatalf("session %d: select 1: %v", i+1, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second)
	after := vmRSS(b, p2.cmd.Process.Pid)
	perSession := float64(after-before) / idleSessions
	logf("proxy VmRSS: %.1f MB with 1 session served and none open, %.1f MB with %d idle sessions (target ≤ 64 MB): %s; %.0f KB a session",
		float64(before)/1e6, float64(after)/1e6, idleSessions, verdict(after <= 64<<20), perSession/1e3)
	b.ReportMetric(float64(after)/1e6, "idle200-rss-MB")
	b.ReportMetric(perSession/1e3, "rss-KB/session")
}

// BenchmarkProxyWarm measures sessions opened ahead (`proxy --warm 2`) where they pay: with
// 10 ms added each way (testkit.DelayProxy) between the proxy and the DSQL double, and the
// same 10 ms between a direct client and the double, as a laptop far from its region would
// see. Sides and clients as in BenchmarkProxy (direct: verify-full TLS with direct
// negotiation and a token; proxy: its Unix socket), in BENCH_WARM_ROUNDS (3) rounds of
// direct then proxy, judged on the median of the per-round ratios:
//
//   - psql -X -c 'select 1' (start, connect, query, exit), BENCH_WARM_PSQL (15) runs a side
//     a round, each 0.5 s after the last (the proxy replaces the session the last one took in
//     about 4 round trips): the median wall time; target ≤ 0.35× direct;
//   - pgbench -S -C -c 4 -j 2 -t 60 (a new connection per transaction): TPS; target ≥ 2.5×
//     direct. 240 transactions a run keep the proxy's opens (one per client, and the ones
//     that land beyond --warm) inside its pacing burst; each proxy run waits for the refill
//     of what the last one took.
//
// Before the rounds, one psql and one pgbench run through the proxy tell it their startups
// (application_name psql and pgbench), as a user's first connection of the day would.
// BENCH_PROXY_GOMAXPROCS=N runs the proxy with GOMAXPROCS=N.
func BenchmarkProxyWarm(b *testing.B) {
	rounds := envInt(b, "BENCH_WARM_ROUNDS", 3)
	psqlRuns := envInt(b, "BENCH_WARM_PSQL", 15)
	const delay = 10 * time.Millisecond

	psql, libpq18, pgbench := benchClients(b)
	pg := testkit.StartPostgresWith(b, testkit.Options{Version: 18})
	pg.SQL(b, "CREATE ROLE admin LOGIN SUPERUSER")
	runOK(b, exec.Command(pgbench, "-i", "-q", "-s", "1", "-h", pg.Socket, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "postgres"), nil)
	d := testkit.StartDSQL(b, pg, testkit.DSQLOptions{Host: "localhost", RatePerSecond: 1e6, Burst: 1000000})
	far := testkit.DelayProxy(b, d.Addr, delay)
	_, farPort, _ := strings.Cut(far.Addr, ":")

	dir := b.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: %s\n    port: %s\n    sslrootcert: %s\n    expires_in: 1h\n", d.Region, farPort, d.CAFile)), 0o600); err != nil {
		b.Fatal(err)
	}
	env := benchEnv(b, "DSQLENV_CONFIG="+cfg)
	if v := os.Getenv("BENCH_PROXY_GOMAXPROCS"); v != "" { // as in BenchmarkProxy
		env = append(env, "GOMAXPROCS="+v)
	}
	tok := exec.Command(binPath, "token", "p")
	tok.Env = env
	token := strings.TrimSpace(runOK(b, tok, nil))
	runtime := filepath.Join(dir, "run")
	startBenchProxy(b, append(slices.Clone(env), "XDG_RUNTIME_DIR="+runtime), "--warm", "2")
	sock := filepath.Join(runtime, "dsqlenv", "p")

	direct := append(slices.Clone(libpq18), "PATH="+os.Getenv("PATH"), "HOME="+dir,
		"PGHOST=localhost", "PGHOSTADDR=127.0.0.1", "PGPORT="+farPort, "PGUSER=admin", "PGDATABASE=postgres",
		"PGSSLMODE=verify-full", "PGSSLROOTCERT="+d.CAFile, "PGSSLNEGOTIATION=direct", "PGPASSWORD="+token)
	viaProxy := append(slices.Clone(libpq18), "PATH="+os.Getenv("PATH"), "HOME="+dir, "PGHOST="+sock, "PGUSER=admin", "PGDATABASE=postgres")
	sides := []struct {
		name string
		env  []string
	}{{"direct", direct}, {"proxy", viaProxy}}
	logf := func(format string, args ...any) { fmt.Printf("proxybench: "+format+"\n", args...) }
	logf("warm sessions: PostgreSQL 18 behind the DSQL double, %s added each way in front of it; psql and pgbench 15 on libpq 18; proxy --warm 2; %d rounds of direct, proxy", delay, rounds)

	psqlOnce := func(env []string) time.Duration {
		start := time.Now()
		runOK(b, exec.Command(psql, "-X", "-q", "-A", "-t", "-c", "select 1"), env)
		return time.Since(start)
	}
	pgbenchC := func(env []string) pgbenchResult {
		return parsePgbench(b, runOK(b, exec.Command(pgbench, "-n", "-S", "-C", "-c", "4", "-j", "2", "-t", "60"), env))
	}
	psqlOnce(viaProxy)
	runOK(b, exec.Command(pgbench, "-n", "-S", "-C", "-c", "1", "-t", "2"), viaProxy)
	time.Sleep(time.Second) // the proxy opens its first warm sessions of each

	var psqlRatios, tpsRatios []float64
	for r := 1; r <= rounds; r++ {
		var med [2]float64
		for i, s := range sides {
			times := make([]float64, psqlRuns)
			for j := range times {
				time.Sleep(500 * time.Millisecond)
				times[j] = float64(psqlOnce(s.env).Microseconds()) / 1000
			}
			med[i] = median(times)
			logf("psql -c 'select 1'  round %d %-6s  median %6.1f ms of %d (fastest %.1f, slowest %.1f)", r, s.name, med[i], psqlRuns, slices.Min(times), slices.Max(times))
		}
		psqlRatios = append(psqlRatios, med[1]/med[0])

		var tps [2]float64
		for i, s := range sides {
			if s.name == "proxy" {
				time.Sleep(6 * time.Second) // the pacing's burst refills (100 a second)
			}
			opened := d.Stats().Accepted
			busy0, all0 := machineCPU(b)
			res := pgbenchC(s.env)
			busy1, all1 := machineCPU(b)
			tps[i] = res.tps
			logf("pgbench -S -C -c 4 -t 60  round %d %-6s  tps %7.1f  latency %7.3f ms  connection %7.3f ms  server sessions opened %d  machine CPU busy %.0f%%",
				r, s.name, res.tps, res.latency, res.connTime, d.Stats().Accepted-opened, 100*float64(busy1-busy0)/float64(max(1, all1-all0)))
		}
		tpsRatios = append(tpsRatios, tps[1]/tps[0])
	}
	psqlRatio, tpsRatio := median(psqlRatios), median(tpsRatios)
	logf("psql connect + select 1, %s each way: proxy --warm 2/direct time per round %s, median %.3f (target ≤ 0.35): %s", delay, fmtRatios(psqlRatios), psqlRatio, verdict(psqlRatio <= 0.35))
	logf("pgbench -S -C -c 4, %s each way: proxy --warm 2/direct TPS per round %s, median %.3f (target ≥ 2.5): %s", delay, fmtRatios(tpsRatios), tpsRatio, verdict(tpsRatio >= 2.5))
	b.ReportMetric(psqlRatio, "warm-psql-time-ratio")
	b.ReportMetric(tpsRatio, "warm-C-tps-ratio")
}

// benchClients returns psql 15 with the environment that runs it on libpq 18, and the
// pgbench beside it; without pgbench the benchmark is skipped.
func benchClients(b *testing.B) (psql string, libpq18 []string, pgbench string) {
	b.Helper()
	psql, libpq18 = testkit.PsqlWithLibpq(b, 18)
	pgbench = filepath.Join(filepath.Dir(psql), "pgbench")
	if _, err := os.Stat(pgbench); err != nil {
		b.Skipf("pgbench is not next to psql (%s): install postgresql-client or postgresql-15", pgbench)
	}
	return psql, libpq18, pgbench
}

// startPerf records the proxy's stacks with perf: BENCH_PROXY_PERF=FILE records its pgbench -S
// runs to FILE.S.ROUND and its one-client -C runs to FILE.C.ROUND; read them with
// perf report -i FILE.S.1. (perf's sampling slows the proxy: leave it off for the numbers.)
func startPerf(tb testing.TB, pid int, file string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(testkit.RequireTool(tb, "perf"), "record", "-q", "-g", "-F", "999", "-p", strconv.Itoa(pid), "-o", file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // perf attaches
	return cmd
}

// pgbouncer is a pgbouncer started by the benchmark as the anchor: session pooling, each
// server connection used once (server_lifetime 0), so that like the proxy it opens one
// verify-full TLS session to the double per client session, with the token as the password.
type pgbouncer struct {
	cmd  *exec.Cmd
	sock string // its Unix socket directory
}

// startPgbouncer starts pgbouncer in front of d when it is installed (Debian's package), as
// nobody when root (pgbouncer refuses root); nil without it.
func startPgbouncer(tb testing.TB, d *testkit.DSQL, token string) *pgbouncer {
	tb.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/pgbouncer"); err != nil {
			fmt.Println("proxybench: pgbouncer is not installed: no anchor (apt-get install pgbouncer)")
			return nil
		}
	}
	dir, err := os.MkdirTemp("", "dsqlenv-pgbouncer-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	ca, err := os.ReadFile(d.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`[databases]
postgres = host=localhost port=%d dbname=postgres user=admin password='%s'
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = %[3]s
auth_type = trust
auth_file = %[3]s/userlist.txt
pool_mode = session
server_lifetime = 0
max_client_conn = 300
default_pool_size = 300
server_tls_sslmode = verify-full
server_tls_ca_file = %[3]s/ca.pem
logfile = %[3]s/pgbouncer.log
pidfile = %[3]s/pgbouncer.pid
log_connections = 0
log_disconnections = 0
`, d.Port, token, dir)
	for name, data := range map[string]string{"pgbouncer.ini": conf, "userlist.txt": `"admin" ""` + "\n", "ca.pem": string(ca)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-q", filepath.Join(dir, "pgbouncer.ini"))
	if os.Geteuid() == 0 {
		for _, f := range []string{"", "pgbouncer.ini", "userlist.txt", "ca.pem"} {
			os.Chown(filepath.Join(dir, f), 65534, 65534)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() })
	sock := filepath.Join(dir, ".s.PGSQL.6432")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			tb.Fatalf("pgbouncer made no socket in 30 s:\n%s%s", out.String(), log)
		}
	}
	return &pgbouncer{cmd: cmd, sock: dir}
}

func stopPerf(perf *exec.Cmd) {
	if perf != nil {
		perf.Process.Signal(os.Interrupt)
		perf.Wait()
	}
}

// benchProxy is a `dsqlenv proxy p` started by the benchmark.
type benchProxy struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer // guarded by done: read only after it is closed
}

// startBenchProxy starts `dsqlenv proxy p` with env, --quiet (no line per session) and flags,
// and waits for its start-up line.
func startBenchProxy(tb testing.TB, env []string, flags ...string) *benchProxy {
	tb.Helper()
	args := append(append([]string{"proxy", "--quiet"}, flags...), "p")
	p := &benchProxy{cmd: exec.Command(binPath, args...), done: make(chan struct{})}
	p.cmd.Env = env
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(io.TeeReader(stderr, &p.log))
		for sc.Scan() {
			if strings.Contains(sc.Text(), `psql "host=`) {
				select {
				case ready <- true:
				default:
				}
			}
		}
	}()
	tb.Cleanup(func() { p.stop(tb) })
	select {
	case <-ready:
	case <-p.done:
		tb.Fatalf("the proxy ended at start:\n%s", p.log.String())
	case <-time.After(60 * time.Second):
		tb.Fatal("the proxy printed no start-up line in 60 s")
	}
	return p
}

func (p *benchProxy) stop(tb testing.TB) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd.Wait()
}

// benchEnv is the proxy's environment: AWS's example keys, no AWS files, no metadata
// service, no AWS_CA_BUNDLE, XDG directories of its own.
func benchEnv(tb testing.TB, extra ...string) []string {
	dir := tb.TempDir()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, extra...)
}

// restartPostgres restarts pg (to apply max_connections) the way testkit runs its pg_ctl: as
// nobody when root, from the server files testkit linked for nobody when it had to.
func restartPostgres(tb testing.TB, pg *testkit.Postgres) {
	tb.Helper()
	pgctl := filepath.Join(pg.Dir, "server", "bin", "pg_ctl")
	if _, err := os.Stat(pgctl); err != nil {
		pgctl = filepath.Join(filepath.Dir(testkit.Libpq18Dir(tb)), "bin", "pg_ctl")
	}
	cmd := exec.Command(pgctl, "-D", filepath.Join(pg.Dir, "data"), "-l", filepath.Join(pg.Socket, "server.log"), "-m", "fast", "-w", "-t", "60", "restart")
	cmd.Dir = pg.Dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("restarting PostgreSQL: %v\n%s", err, out)
	}
}

// runOK runs cmd with env added to its own and returns its stdout; a failure ends the benchmark.
func runOK(tb testing.TB, cmd *exec.Cmd, env []string) string {
	tb.Helper()
	if env != nil {
		cmd.Env = env
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, out.String(), errb.String())
	}
	if strings.Contains(cmd.Path, "pgbench") {
		return out.String() + errb.String()
	}
	return out.String()
}

type pgbenchResult struct {
	tps          float64
	latency      float64 // ms, average per transaction (with -C: connection included)
	connTime     float64 // ms, average connection time (-C)
	transactions int
}

var (
	pgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	pgbenchLatency = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
	pgbenchConn    = regexp.MustCompile(`(?m)^average connection time = ([0-9.]+) ms`)
	pgbenchTx      = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	pgbenchFailed  = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
)

func parsePgbench(tb testing.TB, out string) pgbenchResult {
	tb.Helper()
	num := func(re *regexp.Regexp, need bool) float64 {
		m := re.FindStringSubmatch(out)
		if m == nil {
			if need {
				tb.Fatalf("pgbench printed no %s:\n%s", re, out)
			}
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	if num(pgbenchFailed, false) != 0 {
		tb.Fatalf("pgbench had failed transactions:\n%s", out)
	}
	return pgbenchResult{tps: num(pgbenchTPS, true), latency: num(pgbenchLatency, true), connTime: num(pgbenchConn, false), transactions: int(num(pgbenchTx, true))}
}

// procCPU is a process's user+system CPU time so far, from /proc/PID/stat.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command name, which ends at the last ')': state is field 3, utime
	// and stime fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPU is this process's user+system CPU time so far: the DSQL double's, with the
// benchmark's own bookkeeping.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS is a process's resident set size in bytes, from /proc/PID/status.
func vmRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS: %q", line)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

func perTx(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

// machineCPU returns the whole machine's busy and total CPU time so far, in clock ticks
// (/proc/stat's first line; idle and iowait are not busy). Everything in a benchmark shares
// the machine's cores: the server behind the double too.
func machineCPU(tb testing.TB) (busy, all uint64) {
	tb.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		tb.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			tb.Fatalf("/proc/stat: %q: %v", line, err)
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRatios(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 3, 64)
	}
	return strings.Join(s, ", ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: give a positive whole number", name, v)
	}
	return n
}
