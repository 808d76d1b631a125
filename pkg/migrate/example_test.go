package migrate_test

import (
	"context"
	"fmt"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// exampleHubs returns a ModelScope source holding a small model and an empty Hugging Face.
func exampleHubs() (src, dst *memhub.Hub, from, to migrate.Repo) {
	src = memhub.New(migrate.ModelScope)
	dst = memhub.New(migrate.HuggingFace)
	from = migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "qwen/tiny"}
	to = migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "me/tiny"}
	src.Seed(from, false,
		memhub.FileSpec{Path: "README.md", Data: []byte("---\nlicense: Apache License 2.0\n---\n# Tiny\n")},
		memhub.FileSpec{Path: "config.json", Data: []byte(`{"hidden_size": 8}`)},
		memhub.FileSpec{Path: "model.safetensors", Blob: &synth.Blob{Size: 2 << 20, Seed: 42}},
	)
	return src, dst, from, to
}

// Migrate a repository, then run again: the second run finds the destination up to date.
func Example() {
	src, dst, from, to := exampleHubs()
	m, err := migrate.New(src, dst, from, to)
	if err != nil {
		panic(err)
	}
	rep, err := m.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Status, rep.FilesCopied, "files,", rep.BytesCopied, "bytes; verified:", rep.Verification.OK())
	readme, _ := dst.ReadFile(to, "", "README.md")
	fmt.Printf("%s", readme)

	rep, _ = m.Run(context.Background())
	fmt.Println(rep.Status, rep.FilesSkipped, "files skipped")
	// Output:
	// succeeded 3 files, 2097205 bytes; verified: true
	// ---
	// license: apache-2.0
	// ---
	// # Tiny
	// up_to_date 3 files skipped
}

// Plan without writing anything: what would be copied, and an ETA at 100 MB/s.
func ExampleMigrator_Plan() {
	src, dst, from, to := exampleHubs()
	m, _ := migrate.New(src, dst, from, to, migrate.WithOptions(migrate.Options{Exclude: []string{"*.md"}}))
	plan, err := m.Plan(context.Background())
	if err != nil {
		panic(err)
	}
	for _, f := range plan.Copy {
		fmt.Println("copy", f.Path, f.Size)
	}
	s := plan.Summary()
	fmt.Println(s.CopyFiles, "files,", s.Shards, "shard, dest exists:", s.DestExists, "ETA:", plan.ETA(100e6).Round(1e6))
	// Output:
	// copy config.json 18
	// copy model.safetensors 2097152
	// 2 files, 1 shard, dest exists: false ETA: 21ms
}

// Follow the event stream: events arrive serially, in order.
func ExampleWithEvents() {
	src, dst, from, to := exampleHubs()
	m, _ := migrate.New(src, dst, from, to, migrate.WithEvents(func(ev migrate.Event) {
		switch ev.Type {
		case migrate.EventFileDone:
			fmt.Println(ev.Type, ev.Path, ev.Action)
		case migrate.EventVerify:
			fmt.Println(ev.Type, "matched", ev.Verify.Matched)
		case migrate.EventPlan, migrate.EventCommit, migrate.EventDone:
			fmt.Println(ev.Type)
		}
	}))
	if _, err := m.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// plan
	// file_done model.safetensors copied
	// commit
	// file_done README.md copied
	// file_done config.json copied
	// verify matched 3
	// done
}

// Split the LFS files of a plan into shards: deterministic, largest first.
func ExampleShardPlan() {
	files := []migrate.File{{Path: "a", Size: 30}, {Path: "b", Size: 20}, {Path: "c", Size: 25}, {Path: "d", Size: 5}}
	for i, s := range migrate.ShardPlan(files, 40) {
		fmt.Print(i+1, ":")
		for _, f := range s {
			fmt.Print(" ", f.Path)
		}
		fmt.Println()
	}
	// Output:
	// 1: a d
	// 2: c b
}

// Rewrite a README's license for Hugging Face; the body is left byte for byte.
func ExampleFixReadmeLicense() {
	out, changed, _ := migrate.FixReadmeLicense([]byte("---\nlicense: MIT\n---\nlicense: MIT\n"))
	fmt.Printf("%v\n%s", changed, out)
	// Output:
	// true
	// ---
	// license: mit
	// ---
	// license: MIT
}
