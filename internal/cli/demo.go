package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// Demo identities: obviously fake tokens, valid only on the in-process fakes.
const (
	demoUser    = "demo"
	demoHFToken = "hf_demo_token_for_the_fake_hub_only"
	demoMSToken = "ms-demo-token-for-the-fake-hub-only"
	demoRepo    = "demo/tiny-llm"
)

// demoReadme carries a license in the case ModelScope model cards use; the Hub wants the SPDX-like
// lower-case id, so the MS->HF leg rewrites it (and only it).
const demoReadme = `---
license: Apache-2.0
language:
- en
- zh
tags:
- text-generation
---
# tiny-llm

A demonstration model: three safetensors shards generated on the fly, a tokenizer and configs.
Nothing here is a real model.
`

// demoHubs are the two fakes with a seeded source repo.
type demoHubs struct {
	hf *hubtest.Server
	ms *mstest.Server
}

func startDemoHubs(weights int64) (*demoHubs, error) {
	d := &demoHubs{hf: hubtest.NewServer(), ms: mstest.NewServer()}
	d.hf.AddUser(demoUser)
	d.hf.AddToken(demoHFToken, demoUser, hubtest.RoleWrite)
	d.ms.AddUser(demoUser)
	d.ms.AddToken(demoMSToken, demoUser, mstest.RoleWrite)
	if err := d.hf.CreateRepo(hubkit.Model, demoRepo, hubtest.RepoOptions{}); err != nil {
		d.Close()
		return nil, err
	}
	shard := weights / 3
	files := []hubtest.File{
		{Path: "README.md", Content: []byte(demoReadme)},
		{Path: "config.json", Content: []byte(`{"architectures":["TinyLlmForCausalLM"],"hidden_size":2048,"num_hidden_layers":16,"vocab_size":32000}` + "\n")},
		{Path: "generation_config.json", Content: []byte(`{"do_sample":true,"temperature":0.7,"top_p":0.9}` + "\n")},
		{Path: "tokenizer.json", Content: synthJSON(256 << 10)},
		{Path: "model.safetensors.index.json", Content: []byte(`{"metadata":{"total_size":` + fmt.Sprint(3*shard) + `}}` + "\n")},
	}
	for i := 1; i <= 3; i++ {
		b := synth.Blob{Size: shard, Seed: uint64(100 + i)}
		files = append(files, hubtest.File{Path: fmt.Sprintf("model-%05d-of-00003.safetensors", i), Blob: &b})
	}
	if _, err := d.hf.Commit(hubkit.Model, demoRepo, "main", "Initial commit", files...); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// synthJSON is n bytes of plausible JSON text.
func synthJSON(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":{"vocab":{`)
	for i := 0; b.Len() < n-16; i++ {
		fmt.Fprintf(&b, `"tok%d":%d,`, i, i)
	}
	b.WriteString(`"end":0}}}`)
	return []byte(b.String())
}

func (d *demoHubs) Close() {
	d.hf.Close()
	d.ms.Close()
}

// hubs are the engine's hubs over the fakes, built by the service layer exactly as for the real
// hubs: the environment only points it at the fakes.
func (d *demoHubs) hubs() (hf, ms migrate.Hub, err error) {
	env := map[string]string{app.EnvHFEndpoint: d.hf.URL(), app.EnvHFToken: demoHFToken,
		app.EnvMSEndpoint: d.ms.URL(), app.EnvMSToken: demoMSToken}
	e, err := app.NewEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		return nil, nil, err
	}
	return app.New(e).Hubs(migrate.HuggingFace, migrate.ModelScope)
}

func (a *App) demoCommand() *cobra.Command {
	var serve bool
	var size string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Migrate a seeded repo between in-process fake hubs (no credentials, no network)",
		Long: `demo starts a fake Hugging Face Hub and a fake ModelScope in this process, seeds a model repo
(README, configs, tokenizer, three safetensors shards generated on the fly), migrates it
Hugging Face -> ModelScope, then ModelScope -> Hugging Face (into a new repo, fixing the README
license on the way), re-runs the first migration to show the incremental no-op, then tags the source and changes it
and mirrors its refs (--refs all), and prints each verification table.

With --serve it only starts and seeds the two fakes and prints their endpoints and tokens, so you
can point the CLI (HF_ENDPOINT, MODELSCOPE_ENDPOINT) or the Action at them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := units.ParseSize(size)
			if err != nil {
				return app.Usagef("--size: %v", err)
			}
			d, err := startDemoHubs(n)
			if err != nil {
				return fmt.Errorf("starting the fake hubs: %w", err)
			}
			defer d.Close()
			if serve {
				return a.demoServe(cmd.Context(), d)
			}
			return a.demoRun(cmd.Context(), d, n)
		},
	}
	cmd.Flags().BoolVar(&serve, "serve", false, "only start the seeded fakes and print how to use them")
	cmd.Flags().StringVar(&size, "size", "600MiB", "total size of the demo model's weight files")
	return cmd
}

func (a *App) demoServe(ctx context.Context, d *demoHubs) error {
	fmt.Fprintf(a.Stdout, `fake hubs running (Ctrl-C to stop)

  export HF_ENDPOINT=%s
  export HF_TOKEN=%s
  export MODELSCOPE_ENDPOINT=%s
  export MODELSCOPE_TOKEN=%s

seeded: hf:%s (user %q may write to its own namespace on both hubs)
try:    go run ./cmd/hf2ms migrate hf:%s --to ms
`, d.hf.URL(), demoHFToken, d.ms.URL(), demoMSToken, demoRepo, demoUser, demoRepo)
	<-ctx.Done()
	return nil
}

func (a *App) demoRun(ctx context.Context, d *demoHubs, weights int64) error {
	hf, ms, err := d.hubs()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "fake Hugging Face Hub at %s, fake ModelScope at %s\nseeded hf:%s with %s of weights\n",
		d.hf.URL(), d.ms.URL(), demoRepo, units.Bytes(weights))

	type leg struct {
		title    string
		src, dst migrate.Hub
		from, to migrate.Repo
		opts     migrate.Options
		before   func() error // changes the source first
	}
	hfRepo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: demoRepo}
	msRepo := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: demoRepo}
	back := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: demoRepo + "-roundtrip"}
	legs := []leg{
		{"1. Hugging Face -> ModelScope", hf, ms, hfRepo, msRepo, migrate.Options{}, nil},
		{"2. ModelScope -> Hugging Face (new repo; README license fixed for the Hub)", ms, hf, msRepo, back, migrate.Options{}, nil},
		{"3. Hugging Face -> ModelScope again: incremental, nothing to move", hf, ms, hfRepo, msRepo, migrate.Options{}, nil},
		{"4. Refs: tag v1.0 on the source, then a new commit on main; --refs all tags v1.0 on ModelScope and commits main last",
			hf, ms, hfRepo, msRepo, migrate.Options{Refs: []string{"**"}}, d.tagAndChange},
	}
	failed := false
	for _, l := range legs {
		fmt.Fprintf(a.Stdout, "\n== %s\n", l.title)
		if l.before != nil {
			if err := l.before(); err != nil {
				return err
			}
		}
		prog := a.newProgress()
		m, err := migrate.New(l.src, l.dst, l.from, l.to, migrate.WithOptions(l.opts), migrate.WithEvents(prog.Event))
		if err != nil {
			prog.Close()
			return err
		}
		start := time.Now()
		rep, err := m.Run(ctx)
		prog.Close()
		if rep != nil && err == nil && rep.Verification == nil {
			// An up-to-date run moves nothing and so verifies nothing; the demo still shows
			// that the destination matches.
			rep.Verification, err = app.Verify(ctx, &app.Resolved{From: l.from, To: l.to, Src: l.src, Dst: l.dst}, migrate.Options{})
		}
		if rep != nil {
			printReport(a.Stdout, rep)
		}
		if err != nil {
			fmt.Fprintf(a.Stdout, "failed after %s: %v\n", time.Since(start).Round(time.Millisecond), err)
			failed = true
			break
		}
	}
	if readme, err := d.hf.ReadFile(hubkit.Model, demoRepo+"-roundtrip", "main", "README.md"); err == nil {
		fmt.Fprintf(a.Stdout, "\nREADME.md front matter on hf:%s-roundtrip:\n%s\n", demoRepo, frontMatter(readme))
	}
	if failed {
		return exitError{ExitFailure}
	}
	return nil
}

// tagAndChange tags the source's main as v1.0 and then changes a config on main, so a refs run
// has a tag (already mirrored content: only a tag to make) and a newer default branch to commit.
func (d *demoHubs) tagAndChange() error {
	if err := d.hf.CreateTag(hubkit.Model, demoRepo, "v1.0", "main"); err != nil {
		return err
	}
	_, err := d.hf.Commit(hubkit.Model, demoRepo, "main", "Lower the temperature",
		hubtest.File{Path: "generation_config.json", Content: []byte(`{"do_sample":true,"temperature":0.6,"top_p":0.9}` + "\n")})
	return err
}

func frontMatter(b []byte) string {
	s := string(b)
	if !strings.HasPrefix(s, "---") {
		return "(none)"
	}
	if i := strings.Index(s[3:], "\n---"); i >= 0 {
		return s[:i+7]
	}
	return s
}
