package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// The fault matrix: whole migrations between the two fake hubs, through the real
// clients, adapters and engine, while the fakes inject faults alone and together. For every run:
// it completes and verifies, or it fails with a clear error and commits nothing; in no case does
// the destination's branch head move to content that differs from the source; and a re-run after
// a failure finishes without re-uploading the blobs the destination already stores.
//
//	go test -run Fault ./pkg/migrate/              the deterministic matrix (every CI run)
//	HF2MS_SOAK=20 go test -run Fault ./pkg/migrate/ plus 20 randomized combinations
//	HF2MS_SOAK_SEED=7 ...                          replays the soak with another seed
//
// The table of results is logged, and printed on stdout with -v.

const (
	envSoak     = "HF2MS_SOAK"
	envSoakSeed = "HF2MS_SOAK_SEED"
	// defaultSoakSeed is the soak's seed unless HF2MS_SOAK_SEED says otherwise, so a failing soak
	// replays as it ran.
	defaultSoakSeed = 9
)

// newFaultWorld is the e2e world with clients tuned for the matrix: fast backoff (so bursts of
// 5xx do not cost seconds) and one rate-limit gate shared by every client of the world, as the
// process-wide DefaultGate is shared in production. Server-announced waits (Retry-After,
// RateLimit t=) are still honoured in full.
func newFaultWorld(t *testing.T) *e2eWorld {
	t.Helper()
	w := newE2EWorld(t)
	gate := httpx.NewGate()
	hc := func() *http.Client {
		return httpx.NewClient(httpx.WithGate(gate), httpx.WithBackoff(5*time.Millisecond, 40*time.Millisecond),
			httpx.WithMaxWait(10*time.Second))
	}
	hfc := hub.NewClient(hub.WithEndpoint(w.HF.URL()), hub.WithToken(testworld.HFToken), hub.WithHTTPClient(hc()))
	msc := msclient.NewClient(msclient.WithEndpoint(w.MS.URL()), msclient.WithToken(testworld.MSToken),
		msclient.WithHTTPClient(hc()),
		msclient.WithCommitRetry(4, 10*time.Millisecond, 10*time.Second),
		msclient.WithResumeOptions(httpx.WithResumeBackoff(5*time.Millisecond, 40*time.Millisecond)))
	w.hubs = map[migrate.HubName]migrate.Hub{migrate.HuggingFace: hfhub.New(hfc), migrate.ModelScope: mshub.New(msc)}
	return w
}

// faultDir is one direction of the matrix.
type faultDir struct{ from, to migrate.HubName }

func (d faultDir) String() string { return fmt.Sprintf("%s to %s", d.from, d.to) }

var (
	hfToMS = faultDir{migrate.HuggingFace, migrate.ModelScope}
	msToHF = faultDir{migrate.ModelScope, migrate.HuggingFace}
	hfToHF = faultDir{migrate.HuggingFace, migrate.HuggingFace}
)

// faultRun is one migration of the matrix: the world, the two repos and the rules injected.
type faultRun struct {
	w        *e2eWorld
	dir      faultDir
	from, to migrate.Repo
	injected []injected
	lock     bool // the Hugging Face source is storage-locked
}

type injected struct {
	hub  migrate.HubName
	rule fault.Rule
}

// add injects r on hub h's fake.
func (f *faultRun) add(h migrate.HubName, r fault.Rule) {
	f.w.Faults(h).Add(r)
	f.injected = append(f.injected, injected{h, r})
}

// src and dst inject on the source's or the destination's fake.
func (f *faultRun) src(r fault.Rule) { f.add(f.dir.from, r) }
func (f *faultRun) dst(r fault.Rule) { f.add(f.dir.to, r) }

// requireFaultsHit checks that every injected rule met its route at least as often as it was
// meant to act (a rule that was never hit tests nothing).
func (f *faultRun) requireFaultsHit(t *testing.T) {
	t.Helper()
	want := map[string]int{}
	for _, in := range f.injected {
		want[string(in.hub)+"|"+in.rule.Route] += max(in.rule.Times, 1)
	}
	for k, n := range want {
		h, route, _ := strings.Cut(k, "|")
		require.GreaterOrEqual(t, f.w.Faults(migrate.HubName(h)).Count(route), n,
			"fault on %s route %q was not hit as often as injected (%s)", h, route, f.w.Faults(migrate.HubName(h)))
	}
}

// faultFiles is the source of every run: regular files, small LFS files (basic uploads, and on
// migrate.ModelScope served directly below the redirect threshold), and one LFS file above the HF fake's
// multipart threshold.
func faultFiles(seed byte) []testworld.File {
	return []testworld.File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# hubkit.Model under faults\n")},
		{Path: "config.json", Content: []byte(fmt.Sprintf(`{"seed": %d, "hidden": 768}`, seed))},
		{Path: "tokenizer/vocab.txt", Content: bytes.Repeat([]byte("token\n"), 200)},
		{Path: "model.safetensors", Content: migratetest.Bytes(90<<10, seed), LFS: true},
		{Path: "shards/model-00001.bin", Content: migratetest.Bytes(300<<10, seed+1), LFS: true},
		{Path: "data/train.parquet", Content: migratetest.Bytes(20<<10, seed+2), LFS: true},
		{Path: "data/eval.parquet", Content: migratetest.Bytes(40<<10, seed+3), LFS: true},
	}
}

// keepFile is on the destination before the run: not in the source, kept (no --delete).
var keepFile = testworld.File{Path: "keep.txt", Content: []byte("on the destination before the migration\n")}

// newFaultRun builds a world, seeds the source and an existing destination (so its branch head
// before the run is known).
func newFaultRun(t *testing.T, dir faultDir, seed byte) *faultRun {
	t.Helper()
	w := newFaultWorld(t)
	f := &faultRun{w: w, dir: dir,
		from: migrate.Repo{dir.from, hubkit.Model, testworld.User + "/faulty"},
		to:   migrate.Repo{dir.to, hubkit.Model, testworld.Org + "/mirror"}}
	w.Create(t, f.from, false)
	w.Seed(t, f.from, faultFiles(seed)...)
	w.Create(t, f.to, false)
	w.Seed(t, f.to, keepFile)
	return f
}

// head is the destination's branch head.
func (f *faultRun) head(t *testing.T) string {
	t.Helper()
	h := f.w.History(t, f.to)
	require.NotEmpty(t, h)
	return h[0].ID
}

// mismatch compares the destination's bytes with the source's (at the pinned commit: the source
// does not change during a run) and describes the first difference, "" when they match. The
// destination may also hold keep.txt (unchanged) and the .gitattributes Hugging Face maintains.
func (f *faultRun) mismatch(t *testing.T) string {
	t.Helper()
	src, dst := f.w.Contents(t, f.from), f.w.Contents(t, f.to)
	delete(src, ".gitattributes")
	delete(dst, ".gitattributes")
	if dst[keepFile.Path] != hubkit.SHA256Hex(keepFile.Content) {
		return "keep.txt changed or missing"
	}
	delete(dst, keepFile.Path)
	var paths []string
	for p := range src {
		paths = append(paths, p)
	}
	for p := range dst {
		if _, ok := src[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if src[p] != dst[p] {
			return fmt.Sprintf("%s: source sha256 %q, destination %q", p, src[p], dst[p])
		}
	}
	return ""
}

// storedBlobs returns the source's LFS blobs (sha256 -> size), read on the source's fake, and
// which of them the destination's fake already stores.
func (f *faultRun) storedBlobs(t *testing.T) (all map[string]int64, stored map[string]bool) {
	t.Helper()
	all, stored = map[string]int64{}, map[string]bool{}
	if f.dir.from == migrate.HuggingFace {
		fs, err := f.w.HF.Files(f.from.Type, f.from.ID, hfhub.DefaultBranch)
		require.NoError(t, err)
		for _, fi := range fs {
			if fi.LFS {
				all[strings.ToLower(fi.SHA256)] = fi.Size
			}
		}
	} else {
		fs, err := f.w.MS.Files(f.from.Type, f.from.ID, mshub.DefaultBranch)
		require.NoError(t, err)
		for _, fi := range fs {
			if fi.LFS {
				all[strings.ToLower(fi.SHA256)] = fi.Size
			}
		}
	}
	require.NotEmpty(t, all)
	for sha := range all {
		if f.dir.to == migrate.HuggingFace {
			stored[sha] = f.w.HF.HasLFSObject(sha)
		} else {
			stored[sha] = f.w.MS.HasLFSObject(sha)
		}
	}
	return all, stored
}

// uploadRequests is how many upload requests storing a blob of size costs on hub h's fake (the
// HF fake's upload route counts every multipart part).
func uploadRequests(h migrate.HubName, size int64) int {
	const threshold, chunk = 256 << 10, 96 << 10 // newE2EWorld's hubtest options
	if h == migrate.HuggingFace && size >= threshold {
		return int((size + chunk - 1) / chunk)
	}
	return 1
}

// outcome is what a run of a scenario must end with.
type outcome int

const (
	mustComplete  outcome = iota // transient faults only: the run completes and verifies
	mustFailClean                // the run fails with a clear error and commits nothing
	mayFail                      // soak combinations with a permanent fault: either, never corrupt
)

func (o outcome) String() string {
	switch o {
	case mustComplete:
		return "complete"
	case mustFailClean:
		return "fail cleanly"
	}
	return "either"
}

// runResult is what one run did.
type runResult struct {
	completed, failedClean, corrupted, rerunOK bool
}

// faultTable collects the results for the printed table.
type faultTable struct {
	mu    sync.Mutex
	order []string
	rows  map[string]*faultRow
}

type faultRow struct {
	expect                                         string
	runs, completed, failedClean, corrupted, rerun int
}

// register adds an empty row, so the table lists rows in the matrix's order whatever order the
// parallel runs finish in.
func (tb *faultTable) register(name, expect string) { tb.record(name, expect, runResult{}, false) }

func (tb *faultTable) add(name, expect string, r runResult) { tb.record(name, expect, r, true) }

func (tb *faultTable) record(name, expect string, r runResult, ran bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.rows == nil {
		tb.rows = map[string]*faultRow{}
	}
	row := tb.rows[name]
	if row == nil {
		row = &faultRow{expect: expect}
		tb.rows[name] = row
		tb.order = append(tb.order, name)
	}
	if !ran {
		return
	}
	row.runs++
	for _, c := range []struct {
		on bool
		n  *int
	}{{r.completed, &row.completed}, {r.failedClean, &row.failedClean}, {r.corrupted, &row.corrupted}, {r.rerunOK, &row.rerun}} {
		if c.on {
			*c.n++
		}
	}
}

func (tb *faultTable) String() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-56s %-12s %4s %9s %14s %9s %9s\n", "fault", "expected", "runs", "completed", "failed-cleanly", "corrupted", "re-run-ok")
	var tot faultRow
	for _, name := range tb.order {
		r := tb.rows[name]
		fmt.Fprintf(&b, "%-56s %-12s %4d %9d %14d %9d %9d\n", name, r.expect, r.runs, r.completed, r.failedClean, r.corrupted, r.rerun)
		tot.runs += r.runs
		tot.completed += r.completed
		tot.failedClean += r.failedClean
		tot.corrupted += r.corrupted
		tot.rerun += r.rerun
	}
	fmt.Fprintf(&b, "%-56s %-12s %4d %9d %14d %9d %9d\n", "total", "", tot.runs, tot.completed, tot.failedClean, tot.corrupted, tot.rerun)
	return b.String()
}

// faultCase is one row of the matrix.
type faultCase struct {
	name    string
	dirs    []faultDir
	inject  func(f *faultRun)
	want    outcome
	wantErr error         // for failures: the error kind the user can branch on
	minTime time.Duration // the run must have waited at least this long (rate-limit windows)
}

func faultCases(t *testing.T) []faultCase {
	both := []faultDir{hfToMS, msToHF}
	rateLimit := func(f *faultRun) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 2, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).LFSBatch, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	}
	bursts := func(f *faultRun) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 3, Status: http.StatusInternalServerError})
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).Direct, Times: 2, Status: http.StatusBadGateway})
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).Upload, Times: 2, Status: http.StatusServiceUnavailable})
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).LFSBatch, Times: 2, Status: http.StatusBadGateway})
	}
	cutDownload := func(f *faultRun) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 3, CutAfter: 30 << 10})
	}
	cutUpload := func(f *faultRun) {
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).Upload, Times: 2, CutAfter: 40 << 10})
	}
	slow := func(f *faultRun) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, BytesPerSecond: 1 << 20})
	}
	commitRate := func(f *faultRun) {
		if f.dir.to == migrate.ModelScope { // inside HTTP 200, as migrate.ModelScope answers commits that come too fast
			f.dst(mstest.EnvelopeError(mstest.RouteCommit, mstest.MsgPolicyRejected, 2))
			return
		}
		f.dst(fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	}
	return []faultCase{
		{name: "429 with reset headers", dirs: both, inject: rateLimit, want: mustComplete, minTime: time.Second},
		{name: "500/502/503 bursts", dirs: both, inject: bursts, want: mustComplete},
		{name: "connection cut mid-download", dirs: both, inject: cutDownload, want: mustComplete},
		{name: "connection cut mid-upload", dirs: both, inject: cutUpload, want: mustComplete},
		{name: "slow bodies (1 MiB/s)", dirs: both, inject: slow, want: mustComplete},
		{name: "commit-frequency rejection", dirs: both, inject: commitRate, want: mustComplete},
		{name: "all transient faults together", dirs: both, want: mustComplete, minTime: time.Second, inject: func(f *faultRun) {
			rateLimit(f)
			bursts(f)
			cutDownload(f)
			cutUpload(f)
			commitRate(f)
			slow(f)
		}},
		{name: "storage-lock 403 (git fallback)", dirs: []faultDir{hfToMS, hfToHF}, want: mustComplete, inject: func(f *faultRun) {
			f.lock = true
			f.w.HF.SetStorageLock(f.from.Type, f.from.ID, true)
		}},
		{name: "source serves wrong bytes once (LFS)", dirs: both, want: mustFailClean, wantErr: hubkit.ErrHashMismatch, inject: func(f *faultRun) {
			f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 1, Corrupt: true})
		}},
		{name: "source serves wrong bytes (direct downloads)", dirs: both, want: mustFailClean, wantErr: hubkit.ErrHashMismatch, inject: func(f *faultRun) {
			f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).Direct, Corrupt: true})
		}},
		{name: "source CDN down (503 on every request)", dirs: both, want: mustFailClean, wantErr: hubkit.ErrServer, inject: func(f *faultRun) {
			f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Status: http.StatusServiceUnavailable})
		}},
		{name: "commit answered 500 (never retried)", dirs: both, want: mustFailClean, wantErr: hubkit.ErrServer, inject: func(f *faultRun) {
			f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).Commit, Times: 1, Status: http.StatusInternalServerError})
		}},
		// The wrong bytes may go to an attempt that a cut ends anyway (and the retry reads good
		// bytes): then the run completes; otherwise it fails on the hash. Never corrupt.
		{name: "transient faults + wrong bytes once", dirs: both, want: mayFail, inject: func(f *faultRun) {
			bursts(f)
			cutUpload(f)
			f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 1, Corrupt: true})
		}},
	}
}

// runFault runs one migration under the faults inject adds, checks it against want, and after a
// failure re-runs without faults. It returns what happened (the caller records it).
func runFault(t *testing.T, f *faultRun, want outcome, wantErr error, minTime time.Duration) runResult {
	t.Helper()
	var res runResult
	headBefore := f.head(t)
	start := time.Now()
	rep, err := f.w.migrate(t, f.from, f.to, migrate.Options{})
	elapsed := time.Since(start)
	f.w.Faults(migrate.HuggingFace).Clear()
	f.w.Faults(migrate.ModelScope).Clear()
	if f.lock {
		f.w.HF.SetStorageLock(f.from.Type, f.from.ID, false)
	}
	require.NotNil(t, rep)

	moved := f.head(t) != headBefore
	diff := ""
	if moved {
		diff = f.mismatch(t)
	}
	res.corrupted = moved && diff != ""
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, tok := range []string{testworld.HFToken, testworld.MSToken} {
		require.NotContains(t, msg, tok, "a token leaked into the error")
		require.NotContains(t, rep.Error, tok, "a token leaked into the report")
	}
	res.completed = err == nil && rep.Status == migrate.StatusSucceeded && rep.Verification.OK() && moved && diff == ""
	res.failedClean = err != nil && rep.Status == migrate.StatusFailed && rep.Error != "" && !moved &&
		(wantErr == nil || errors.Is(err, wantErr))
	t.Logf("%s: %s in %s; status %s; error: %v", f.dir, map[bool]string{true: "completed", false: "did not complete"}[res.completed],
		elapsed.Round(time.Millisecond), rep.Status, err)

	require.False(t, res.corrupted, "the destination's head moved to content that differs from the source: %s", diff)
	switch want {
	case mustComplete:
		require.NoError(t, err, "transient faults only: the run must complete (%s)", f.w.Faults(f.dir.to))
		require.True(t, res.completed, "status %s, verification %+v, %s", rep.Status, rep.Verification, diff)
		require.GreaterOrEqual(t, elapsed, minTime, "the run did not wait for the rate-limit window")
	case mustFailClean:
		require.Error(t, err, "the run must fail")
		if wantErr != nil {
			require.ErrorIs(t, err, wantErr)
		}
		require.False(t, moved, "a failed run commits nothing")
		require.True(t, res.failedClean, "status %s, report error %q", rep.Status, rep.Error)
	case mayFail:
		require.True(t, res.completed || res.failedClean, "neither completed nor failed cleanly: status %s, err %v", rep.Status, err)
	}
	if !res.completed {
		res.rerunOK = rerunResumes(t, f)
	}
	return res
}

// rerunResumes re-runs a failed migration without faults: it must complete and verify, and the
// blobs the destination stored during the failed run are not uploaded again.
func rerunResumes(t *testing.T, f *faultRun) bool {
	t.Helper()
	all, stored := f.storedBlobs(t)
	wantUploads := 0
	for sha, size := range all {
		if !stored[sha] {
			wantUploads += uploadRequests(f.dir.to, size)
		}
	}
	before := f.w.Uploads(f.dir.to)
	headBefore := f.head(t)
	rep, err := f.w.migrate(t, f.from, f.to, migrate.Options{})
	require.NoError(t, err, "the re-run after a failure must finish the job")
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	require.NotEqual(t, headBefore, f.head(t))
	require.Empty(t, f.mismatch(t))
	require.Equal(t, wantUploads, f.w.Uploads(f.dir.to)-before,
		"the re-run uploads only the blobs the destination does not store (%d of %d stored)", countTrue(stored), len(all))
	storedReported := 0
	for _, fr := range rep.Files {
		if fr.Action == migrate.ActionStored {
			storedReported++
		}
	}
	require.GreaterOrEqual(t, storedReported, countTrue(stored), "blobs already stored are reported stored, not copied: %+v", rep.Files)
	return true
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func TestFaultMatrix(t *testing.T) {
	table := &faultTable{}
	t.Cleanup(func() {
		t.Logf("fault matrix:\n%s", table)
		if testing.Verbose() {
			fmt.Printf("\n%s\n", table)
		}
		table.mu.Lock()
		defer table.mu.Unlock()
		for name, r := range table.rows {
			if r.corrupted != 0 {
				t.Errorf("%s: %d corrupted destinations", name, r.corrupted)
			}
		}
	})

	table.register(killRow, "fail cleanly")
	cases := faultCases(t)
	for _, tc := range cases {
		table.register(tc.name, tc.want.String())
	}
	// Not parallel: it runs first, alone, so its timing (kill mid-transfer) is not disturbed.
	t.Run("worker killed mid-transfer", func(t *testing.T) { faultWorkerKill(t, table) })

	for i, tc := range cases {
		for _, dir := range tc.dirs {
			t.Run(tc.name+"/"+dir.String(), func(t *testing.T) {
				t.Parallel()
				f := newFaultRun(t, dir, byte(10+i))
				tc.inject(f)
				res := runFault(t, f, tc.want, tc.wantErr, tc.minTime)
				f.requireFaultsHit(t)
				table.add(tc.name, tc.want.String(), res)
			})
		}
	}

	if n := soakCount(t); n > 0 {
		seed := soakSeed(t)
		t.Logf("soak: %d randomized runs, seed %d (replay: %s=%d %s=%d)", n, seed, envSoak, n, envSoakSeed, seed)
		fmt.Printf("fault soak: %d randomized runs, seed %d (replay: %s=%d %s=%d)\n", n, seed, envSoak, n, envSoakSeed, seed)
		table.register(soakTransientRow, mustComplete.String())
		table.register(soakPermanentRow, mayFail.String())
		for i := range n {
			t.Run(fmt.Sprintf("soak/%d", i), func(t *testing.T) {
				t.Parallel()
				faultSoakRun(t, table, seed, i)
			})
		}
	}
}

func soakCount(t *testing.T) int {
	v := os.Getenv(envSoak)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s must be a number of runs", envSoak)
	require.GreaterOrEqual(t, n, 0)
	return n
}

func soakSeed(t *testing.T) uint64 {
	v := os.Getenv(envSoakSeed)
	if v == "" {
		return defaultSoakSeed
	}
	s, err := strconv.ParseUint(v, 10, 64)
	require.NoError(t, err, "%s must be a number", envSoakSeed)
	return s
}

// Rows of the table that are not matrix cases.
const (
	killRow          = "worker process killed mid-transfer, re-started"
	soakTransientRow = "soak: random transient combinations"
	soakPermanentRow = "soak: random combinations with a permanent fault"
)

// soakFault is one ingredient of a randomized combination.
type soakFault struct {
	name      string
	permanent bool // the run may fail (cleanly) when it is in the mix
	inject    func(f *faultRun, r *rand.Rand)
}

var soakFaults = []soakFault{
	{"429", false, func(f *faultRun, r *rand.Rand) {
		routes := []func() (migrate.HubName, string){
			func() (migrate.HubName, string) { return f.dir.from, testworld.RoutesOf(f.dir.from).CDN },
			func() (migrate.HubName, string) { return f.dir.from, testworld.RoutesOf(f.dir.from).Direct },
			func() (migrate.HubName, string) { return f.dir.to, testworld.RoutesOf(f.dir.to).LFSBatch },
		}
		h, route := routes[r.IntN(len(routes))]()
		f.add(h, fault.Rule{Route: route, Times: 1 + r.IntN(2), Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	}},
	{"5xx", false, func(f *faultRun, r *rand.Rand) {
		statuses := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		routes := []func() (migrate.HubName, string){
			func() (migrate.HubName, string) { return f.dir.from, testworld.RoutesOf(f.dir.from).CDN },
			func() (migrate.HubName, string) { return f.dir.from, testworld.RoutesOf(f.dir.from).Direct },
			func() (migrate.HubName, string) { return f.dir.to, testworld.RoutesOf(f.dir.to).LFSBatch },
			func() (migrate.HubName, string) { return f.dir.to, testworld.RoutesOf(f.dir.to).Upload },
		}
		h, route := routes[r.IntN(len(routes))]()
		f.add(h, fault.Rule{Route: route, Times: 1 + r.IntN(2), Status: statuses[r.IntN(len(statuses))]})
	}},
	{"cut-download", false, func(f *faultRun, r *rand.Rand) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 1 + r.IntN(3), CutAfter: int64(1 + r.IntN(60<<10))})
	}},
	{"cut-upload", false, func(f *faultRun, r *rand.Rand) {
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).Upload, Times: 1 + r.IntN(2), CutAfter: int64(1 + r.IntN(60<<10))})
	}},
	{"slow", false, func(f *faultRun, r *rand.Rand) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, BytesPerSecond: int64(1+r.IntN(4)) << 20})
	}},
	{"commit-frequency", false, func(f *faultRun, _ *rand.Rand) {
		if f.dir.to == migrate.ModelScope {
			f.dst(mstest.EnvelopeError(mstest.RouteCommit, mstest.MsgPolicyRejected, 1))
			return
		}
		f.dst(fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	}},
	{"wrong-bytes", true, func(f *faultRun, _ *rand.Rand) {
		f.src(fault.Rule{Route: testworld.RoutesOf(f.dir.from).CDN, Times: 1, Corrupt: true})
	}},
	{"commit-500", true, func(f *faultRun, _ *rand.Rand) {
		f.dst(fault.Rule{Route: testworld.RoutesOf(f.dir.to).Commit, Times: 1, Status: http.StatusInternalServerError})
	}},
}

// faultSoakRun runs randomized combination i of the soak: a direction and two to four faults
// drawn with a generator seeded by (seed, i), so any run replays alone.
func faultSoakRun(t *testing.T, table *faultTable, seed uint64, i int) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	dirs := []faultDir{hfToMS, msToHF}
	dir := dirs[r.IntN(len(dirs))]
	f := newFaultRun(t, dir, byte(r.IntN(200)))
	perm := r.Perm(len(soakFaults))[:2+r.IntN(3)]
	var names []string
	want := mustComplete
	for _, k := range perm {
		sf := soakFaults[k]
		names = append(names, sf.name)
		if sf.permanent {
			want = mayFail
		}
		sf.inject(f, r)
	}
	t.Logf("soak run %d (seed %d): %s, faults %s", i, seed, dir, strings.Join(names, "+"))
	res := runFault(t, f, want, nil, 0)
	f.requireFaultsHit(t)
	name := soakTransientRow
	if want == mayFail {
		name = soakPermanentRow
	}
	table.add(name, want.String(), res)
}

// killingExecutor runs jobs as `hf2ms worker` processes (through a shell that records the
// worker's pid) and kills the worker with SIGKILL once the job has stored `stored` blobs and the
// big file is in flight: a worker process dying mid-transfer, with no chance to clean up.
type killingExecutor struct {
	sub     worker.Subprocess
	pidFile string
	stored  int
	bigPath string
	killed  atomic.Bool
	killErr error
	log     []string // the blob job's events, for the failure message
}

func (k *killingExecutor) Run(ctx context.Context, job migrate.Job, emit func(migrate.Event)) error {
	// The job that moves blobs: a shard's, or the single migrate.PhaseAll job of an unsplit run.
	if job.Phase == migrate.PhaseCommit || k.killed.Load() {
		return k.sub.Run(ctx, job, emit)
	}
	done := 0
	return k.sub.Run(ctx, job, func(ev migrate.Event) {
		emit(ev)
		k.log = append(k.log, fmt.Sprintf("%s %s %s %d/%d", ev.Time.Format("05.000"), ev.Type, ev.Path, ev.Bytes, ev.Size))
		if ev.Type == migrate.EventFileDone && ev.Action == migrate.ActionCopied {
			done++
		}
		if ev.Type == migrate.EventProgress && ev.Path == k.bigPath && done >= k.stored && ev.Bytes < ev.Size && k.killed.CompareAndSwap(false, true) {
			k.killErr = killPidFile(k.pidFile)
		}
	})
}

func killPidFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// buildHF2MS builds the hf2ms binary into a temporary directory.
func buildHF2MS(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build cmd/hf2ms")
	bin := filepath.Join(t.TempDir(), "hf2ms")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/linaqruf/hf2ms/cmd/hf2ms").CombinedOutput()
	require.NoError(t, err, "go build ./cmd/hf2ms: %s", out)
	return bin
}

// faultWorkerKill: a migration whose blob worker (a real `hf2ms worker` process) is killed with
// SIGKILL mid-transfer fails cleanly; re-started, it completes and verifies, and uploads only the
// blob that was in flight.
func faultWorkerKill(t *testing.T, table *faultTable) {
	bin := buildHF2MS(t)
	f := newFaultRun(t, hfToMS, 77)
	const big = "shards/model-00001.bin"
	// Slow CDN bodies: the small blobs land in well under a second, the big one takes ~2.5 s.
	f.src(fault.Rule{Route: hubtest.RouteCDN, BytesPerSecond: 128 << 10})
	pidFile := filepath.Join(t.TempDir(), "worker.pid")
	sub := worker.Subprocess{
		Command: []string{"/bin/sh", "-c", `echo $$ > "$HF2MS_TEST_PIDFILE" && exec "$0" worker`, bin},
		Env: []string{"HF_TOKEN=" + testworld.HFToken, "MODELSCOPE_TOKEN=" + testworld.MSToken, "HF2MS_TEST_PIDFILE=" + pidFile,
			"HF_ENDPOINT=", "MODELSCOPE_ENDPOINT=", "MODELSCOPE_DOMAIN="},
	}
	ep := migrate.WithEndpoints(migrate.Endpoints{HF: f.w.HF.URL(), MS: f.w.MS.URL()})
	kill := &killingExecutor{sub: sub, pidFile: pidFile, stored: 3, bigPath: big}

	headBefore := f.head(t)
	rep, err := f.w.migrate(t, f.from, f.to, migrate.Options{}, migrate.WithExecutor(kill), ep)
	require.True(t, kill.killed.Load(), "the worker was never killed mid-transfer: %v; events:\n%s", err, strings.Join(kill.log, "\n"))
	require.NoError(t, kill.killErr)
	require.Error(t, err, "a killed worker fails the run")
	require.Contains(t, err.Error(), "re-run to resume")
	require.Equal(t, migrate.StatusFailed, rep.Status)
	require.Equal(t, headBefore, f.head(t), "no commit after a killed worker")
	_, stored := f.storedBlobs(t)
	require.Equal(t, 3, countTrue(stored), "the three small blobs were stored before the kill")
	res := runResult{failedClean: true}
	f.w.Faults(migrate.HuggingFace).Clear()

	// Re-started with a normal subprocess executor: only the big blob moves.
	before := f.w.Uploads(migrate.ModelScope)
	rep, err = f.w.migrate(t, f.from, f.to, migrate.Options{}, migrate.WithExecutor(sub), ep)
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	require.Empty(t, f.mismatch(t))
	require.Equal(t, 1, f.w.Uploads(migrate.ModelScope)-before, "only the blob in flight when the worker died is uploaded again")
	storedReported := 0
	for _, fr := range rep.Files {
		if fr.Action == migrate.ActionStored {
			storedReported++
		}
	}
	require.Equal(t, 3, storedReported, "%+v", rep.Files)
	res.rerunOK = true
	table.add(killRow, "fail cleanly", res)
}
