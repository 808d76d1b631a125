package migrate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// BenchmarkRun measures the engine's own overhead on memhub: 8 synthetic 32 MiB LFS files moved
// MS -> MS (ranged reads, SHA-256 in flight on both sides, commit, verify). Compare with
// BenchmarkRawHash, which only hashes the same bytes once.
func BenchmarkRun(b *testing.B) {
	const files, size = 8, 32 << 20
	b.SetBytes(files * size)
	for i := 0; b.Loop(); i++ {
		src := memhub.New(migrate.ModelScope)
		dst := memhub.New(migrate.ModelScope, memhub.WithPartSize(8<<20))
		from := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/src"}
		to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "b/dst"}
		var specs []memhub.FileSpec
		for f := range files {
			specs = append(specs, memhub.FileSpec{Path: fmt.Sprintf("f%d.bin", f), Blob: &synth.Blob{Size: size, Seed: uint64(f)}})
		}
		src.Seed(from, false, specs...)
		m, err := migrate.New(src, dst, from, to, migrate.WithOptions(migrate.Options{Files: 4, Parts: 4}))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawHash is the baseline: SHA-256 over the same synthetic bytes.
func BenchmarkRawHash(b *testing.B) {
	const files, size = 8, 32 << 20
	b.SetBytes(files * size)
	for b.Loop() {
		for f := range files {
			_ = hubkit.SHA256Hex(synth.Blob{Size: size, Seed: uint64(f + 1000)}.Bytes())
		}
	}
}
