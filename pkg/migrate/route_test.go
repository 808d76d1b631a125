package migrate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func TestPlanBlobRoute(t *testing.T) {
	xetFile := migrate.File{Path: "a.safetensors", Size: 5 << 20, SHA256: "aa", LFS: true, XetHash: "0123"}
	lfsFile := migrate.File{Path: "b.bin", Size: 6 << 20, SHA256: "bb", LFS: true}
	inline := migrate.File{Path: "README.md", Size: 10}
	cases := []struct {
		name     string
		from, to migrate.HubName
		want     []string // routes of xetFile, lfsFile, inline
		sum      migrate.PlanSummary
	}{
		{"hf to ms", migrate.HuggingFace, migrate.ModelScope, []string{"read: xet", "read: lfs", ""},
			migrate.PlanSummary{XetReads: 1, LFSReads: 1}},
		{"ms to hf", migrate.ModelScope, migrate.HuggingFace,
			[]string{"write: xet if the Hub offers it", "write: xet if the Hub offers it", ""},
			migrate.PlanSummary{XetWrites: true}},
		{"hf to hf", migrate.HuggingFace, migrate.HuggingFace,
			[]string{"read: xet, write: xet if the Hub offers it", "read: lfs, write: xet if the Hub offers it", ""},
			migrate.PlanSummary{XetReads: 1, LFSReads: 1, XetWrites: true}},
		{"ms to ms", migrate.ModelScope, migrate.ModelScope, []string{"", "", ""}, migrate.PlanSummary{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &migrate.Plan{Source: migrate.Repo{Hub: c.from, ID: "a/b"}, Dest: migrate.Repo{Hub: c.to, ID: "a/b"},
				Copy: []migrate.File{xetFile, lfsFile, inline}}
			for i, f := range p.Copy {
				require.Equal(t, c.want[i], p.BlobRoute(f), f.Path)
			}
			s := p.Summary()
			require.Equal(t, c.sum.XetReads, s.XetReads)
			require.Equal(t, c.sum.LFSReads, s.LFSReads)
			require.Equal(t, c.sum.XetWrites, s.XetWrites)
		})
	}
}
