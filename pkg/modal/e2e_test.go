package modal

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal/modaltest"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// buildBinary builds the command in ./cmd/<name> into a temporary directory, named as in the
// image (Dockerfile).
func buildBinary(t *testing.T, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+pkg)
	cmd.Dir = filepath.Join("..", "..")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/%s: %s", pkg, b)
	return out
}

// imageConfig is the ENTRYPOINT and CMD of the image built from the repository's Dockerfile,
// which the fake control plane applies to the sandboxes it starts.
func imageConfig(t *testing.T) modaltest.ImageConfig {
	t.Helper()
	cfg, err := modaltest.ReadDockerfile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Entrypoint, "the Dockerfile sets an ENTRYPOINT (the Action)")
	return cfg
}

// TestE2EParallelMigrationOnFakeModal runs `hf2ms migrate --parallel --executor modal` (the real
// binary) against the fake Modal control plane, between the fake Hugging Face Hub and the fake
// ModelScope: several blob shards, one commit step, verified. The fake's image is the one the
// Dockerfile builds: its ENTRYPOINT (the real Action binary) comes before every sandbox's
// Command, as on Modal, so the workers start only if the executor clears it.
func TestE2EParallelMigrationOnFakeModal(t *testing.T) {
	const (
		hfTok = "hf_e2e_modal_token"
		msTok = "ms-e2e-modal-token"
	)
	bin := buildBinary(t, "hf2ms", "hf2ms")
	action := buildBinary(t, "action", "hf2ms-action")
	img := imageConfig(t)

	hf := hubtest.NewServer(hubtest.WithMultipartThreshold(256<<10), hubtest.WithChunkSize(96<<10))
	t.Cleanup(hf.Close)
	hf.AddUser("alice", "acme")
	hf.AddToken(hfTok, "alice", hubtest.RoleWrite)
	ms := mstest.NewServer()
	t.Cleanup(ms.Close)
	ms.AddUser("alice", "acme")
	ms.AddToken(msTok, "alice", mstest.RoleWrite)

	require.NoError(t, hf.CreateRepo(hubkit.Model, "acme/model", hubtest.RepoOptions{}))
	files := []hubtest.File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# model\n")},
		{Path: "config.json", Content: []byte(`{"hidden": 8}`)},
	}
	for i, size := range []int64{300 << 10, 200 << 10, 150 << 10, 120 << 10} {
		blob := synth.Blob{Size: size, Seed: uint64(i + 1)}
		files = append(files, hubtest.File{Path: "weights/part-" + string(rune('a'+i)) + ".safetensors", Content: blob.Bytes(), LFS: true})
	}
	_, err := hf.Commit(hubkit.Model, "acme/model", "main", "seed", files...)
	require.NoError(t, err)

	srv := modaltest.New(t, modaltest.WithProgram("hf2ms", bin), modaltest.WithProgram("hf2ms-action", action),
		modaltest.WithImageConfig(img))
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "migrate", "hf:acme/model", "--to", "ms", "--parallel", "--chunk-size", "256KiB",
		"--executor", "modal", "--modal-image", "ghcr.io/linaqruf/hf2ms:e2e", "--report", report)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"HF_TOKEN=" + hfTok, "MODELSCOPE_TOKEN=" + msTok,
		"HF_ENDPOINT=" + hf.URL(), "MODELSCOPE_ENDPOINT=" + ms.URL(),
	}
	for k, v := range srv.Env() {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	for _, s := range []string{stdout.String(), stderr.String()} {
		require.NotContains(t, s, hfTok)
		require.NotContains(t, s, msTok)
	}

	var rep migrate.Report
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Equal(t, migrate.StatusSucceeded, rep.Status, rep.Error)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)

	// Every file arrived, byte for byte.
	for _, f := range files {
		got, err := ms.ReadFile(hubkit.Model, "acme/model", "master", f.Path)
		require.NoError(t, err, f.Path)
		require.True(t, bytes.Equal(f.Content, got), f.Path)
	}

	// Several blob shards and one commit step, each in its own sandbox, all exited 0.
	boxes := srv.Sandboxes()
	var blobs, commits int
	for _, sb := range boxes {
		require.False(t, sb.Running, sb.Name)
		require.Equal(t, 0, sb.ExitCode, sb.Name)
		require.Equal(t, []string{DefaultEntrypoint, "worker"}, sb.Command)
		require.Equal(t, sb.Command, sb.Argv, "the image's ENTRYPOINT is cleared")
		require.Equal(t, "ghcr.io/linaqruf/hf2ms:e2e", sb.Image)
		require.Equal(t, hfTok, sb.Env["HF_TOKEN"])
		switch sb.Tags[TagPhase] {
		case migrate.PhaseBlobs:
			blobs++
		case migrate.PhaseCommit:
			commits++
		}
	}
	require.GreaterOrEqual(t, blobs, 2, "a multi-shard run")
	require.Equal(t, 1, commits)
	require.True(t, strings.HasPrefix(boxes[0].Name, "hf2ms-"), boxes[0].Name)
	require.Empty(t, hf.AuthLeaks())
	require.Empty(t, ms.AuthLeaks())
}

// The image the Dockerfile builds has the worker binary (./cmd/hf2ms) where the executor starts
// it.
func TestDockerfileInstallsTheWorkerAtDefaultEntrypoint(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	built := regexp.MustCompile(`-o (\S+) \./cmd/hf2ms\b`).FindSubmatch(b)
	require.NotNil(t, built, "the Dockerfile builds ./cmd/hf2ms")
	require.Regexp(t, `COPY --from=build `+regexp.QuoteMeta(string(built[1]))+` `+regexp.QuoteMeta(DefaultEntrypoint)+`\n`, string(b))
}
