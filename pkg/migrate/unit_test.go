package migrate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"a", true}, {"dir/sub/file.bin", true}, {".gitattributes", true}, {"a..b/c", true}, {"文件.txt", true},
		{"", false}, {"/abs", false}, {"../x", false}, {"a/../b", false}, {"a/./b", false}, {"a//b", false},
		{"a/", false}, {`a\b`, false}, {"a\x00b", false}, {"a\nb", false}, {".git/config", false},
		{"x/.GIT/hooks", false}, {"C:/x", false}, {strings.Repeat("a/", MaxPathDepth) + "f", false},
		{strings.Repeat("x", MaxPathLength+1), false},
	} {
		t.Run(fmt.Sprintf("%q", tc.path), func(t *testing.T) {
			err := ValidatePath(tc.path)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrUnsafePath)
		})
	}
}

func TestCheckListingNamesTheServer(t *testing.T) {
	repo := Repo{Hub: ModelScope, Type: hubkit.Model, ID: "a/b"}
	err := CheckListing(ModelScope, repo, []File{{Path: "ok.txt"}, {Path: ""}})
	require.ErrorIs(t, err, ErrUnsafePath)
	require.Contains(t, err.Error(), "ModelScope sent a malformed listing of ms:a/b: entry 2:")
	require.Contains(t, err.Error(), "empty path")
}

func TestShardPlan(t *testing.T) {
	files := func(sizes ...int64) []File {
		var out []File
		for i, s := range sizes {
			out = append(out, File{Path: fmt.Sprintf("f%03d", i), Size: s})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		files  []File
		chunk  int64
		shards int
	}{
		{"empty", nil, 10, 0},
		{"one shard", files(1, 2, 3), 100, 1},
		{"by chunk", files(10, 10, 10, 10), 20, 2},
		{"never more shards than files", files(100), 1, 1},
		{"capped at MaxShards", files(make([]int64, 1000)...), 1, 1},
		{"cap with chunk raised", files(func() []int64 {
			s := make([]int64, 1000)
			for i := range s {
				s[i] = 1 << 20
			}
			return s
		}()...), 1 << 20, MaxShards},
		{"default chunk", files(DefaultChunkSize, DefaultChunkSize, 1), 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ShardPlan(tc.files, tc.chunk)
			if tc.shards == 0 {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, tc.shards)
			var n int
			for _, s := range got {
				require.NotEmpty(t, s)
				n += len(s)
				for i := 1; i < len(s); i++ {
					require.GreaterOrEqual(t, s[i-1].Size, s[i].Size, "largest first")
				}
			}
			require.Equal(t, len(tc.files), n)
			// Deterministic whatever the input order.
			rev := append([]File(nil), tc.files...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			require.Equal(t, got, ShardPlan(rev, tc.chunk))
		})
	}
	// Balanced: 1000 equal files over 100 shards is 10 each.
	s := make([]int64, 1000)
	for i := range s {
		s[i] = 5
	}
	for _, sh := range ShardPlan(files(s...), 1) {
		require.Len(t, sh, 10)
	}
}

func TestHFLicense(t *testing.T) {
	for in, want := range map[string]string{
		"Apache License 2.0": "apache-2.0", "Apache-2.0": "apache-2.0", "apache-2.0": "apache-2.0",
		"Apache License, Version 2.0": "apache-2.0", "MIT": "mit", "MIT License": "mit",
		"GPL-3.0": "gpl-3.0", "GPLv3": "gpl-3.0", "GNU General Public License v3.0": "gpl-3.0",
		"LGPL-2.1": "lgpl-2.1", "BSD 3-Clause": "bsd-3-clause", "CC BY-NC 4.0": "cc-by-nc-4.0",
		"CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0", "cc0": "cc0-1.0", "Llama 2 Community License": "llama2",
		"OpenRAIL": "openrail", "Other": "other", "Acme": "other", "": "other",
	} {
		require.Equal(t, want, hfLicense(in), in)
	}
}

func TestFixReadmeLicense(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		changed        bool
		err            bool
	}{
		{"wrong case", "---\nlicense: Apache-2.0\n---\nbody\n", "---\nlicense: apache-2.0\n---\nbody\n", true, false},
		{"display name", "---\nlicense: Apache License 2.0\nfoo: 1\n---\n", "---\nlicense: apache-2.0\nfoo: 1\n---\n", true, false},
		{"unknown", "---\nlicense: Acme Research Licence\n---\n", "---\nlicense: other\n---\n", true, false},
		{"valid untouched", "---\nlicense: mit\n---\nx", "---\nlicense: mit\n---\nx", false, false},
		{"no front matter", "# Title\nlicense: MIT\n", "# Title\nlicense: MIT\n", false, false},
		{"no license", "---\ntags: [a]\n---\n", "---\ntags: [a]\n---\n", false, false},
		{"unterminated", "---\nlicense: MIT\n", "---\nlicense: MIT\n", false, false},
		{"list", "---\nlicense:\n  - MIT\n  - weird\n  - apache-2.0\n---\n", "---\nlicense:\n  - mit\n  - other\n  - apache-2.0\n---\n", true, false},
		{"flow list", "---\nlicense: [MIT, \"Foo Bar\"]\n---\n", "---\nlicense: [mit, \"other\"]\n---\n", true, false},
		{"quoted", "---\nlicense: 'CC-BY-4.0' # comment\n---\n", "---\nlicense: 'cc-by-4.0' # comment\n---\n", true, false},
		{"crlf", "---\r\nlicense: MIT\r\nx:  keep   spacing\r\n---\r\nbody\r\nlicense: MIT\r\n", "---\r\nlicense: mit\r\nx:  keep   spacing\r\n---\r\nbody\r\nlicense: MIT\r\n", true, false},
		{"unicode before", "---\ntitle: 模型\nlicense: MIT\n---\n", "---\ntitle: 模型\nlicense: mit\n---\n", true, false},
		{"bad yaml", "---\nlicense: [\n---\n", "---\nlicense: [\n---\n", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := FixReadmeLicense([]byte(tc.in))
			if tc.err {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.changed, changed)
			require.Equal(t, tc.want, string(out))
		})
	}
}

func TestSplitOps(t *testing.T) {
	lfs := func(n int) []hubkit.CommitOp {
		var ops []hubkit.CommitOp
		for i := range n {
			ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpAddLFS, Path: fmt.Sprint("l", i)})
		}
		return ops
	}
	inline := func(n, size int) []hubkit.CommitOp {
		var ops []hubkit.CommitOp
		for i := range n {
			ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpAddFile, Path: fmt.Sprint("f", i), Content: make([]byte, size), Size: int64(size)})
		}
		return ops
	}
	for _, tc := range []struct {
		name  string
		ops   []hubkit.CommitOp
		lim   Limits
		sizes []int
	}{
		{"no limits", append(lfs(5), inline(5, 1)...), Limits{}, []int{10}},
		{"max ops", lfs(5), Limits{MaxOps: 2}, []int{2, 2, 1}},
		{"inline files", append(lfs(3), inline(5, 1)...), Limits{MaxInlineFiles: 2}, []int{5, 2, 1}},
		{"inline bytes", inline(4, 10), Limits{MaxInlineBytes: 25}, []int{2, 2}},
		{"one oversized file still goes", inline(2, 100), Limits{MaxInlineBytes: 10}, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sizes []int
			var n int
			for _, b := range splitOps(tc.ops, tc.lim) {
				sizes = append(sizes, len(b))
				n += len(b)
			}
			require.Equal(t, tc.sizes, sizes)
			require.Equal(t, len(tc.ops), n)
		})
	}
}

func TestVerify(t *testing.T) {
	sha := func(c byte) string { return strings.Repeat(string(c), 64) }
	plan := &Plan{
		Copy: []File{
			{Path: "lfs.bin", Size: 10, SHA256: sha('a'), LFS: true},
			{Path: "read.txt", Size: 3},
			{Path: "oid.txt", Size: 2, GitOID: "abc"},
			{Path: "gone.txt", Size: 1, SHA256: sha('b')},
			{Path: "bad.bin", Size: 4, SHA256: sha('c'), LFS: true},
			{Path: "nohash.txt", Size: 5},
		},
		Skip:    []File{{Path: "size.txt", Size: 9, SHA256: sha('d')}},
		Delete:  []File{{Path: "old.txt"}, {Path: "still.txt"}},
		content: map[string]contentHash{"read.txt": {sha256: sha('e'), gitOID: "g", size: 3}},
	}
	v := Verify(plan, []File{
		{Path: "lfs.bin", Size: 10, SHA256: strings.ToUpper(sha('a')), LFS: true},
		{Path: "read.txt", Size: 3, GitOID: "g"},
		{Path: "oid.txt", Size: 2, GitOID: "abc"},
		{Path: "bad.bin", Size: 4, SHA256: sha('f'), LFS: true},
		{Path: "nohash.txt", Size: 5},
		{Path: "size.txt", Size: 8, SHA256: sha('d')},
		{Path: "still.txt", Size: 1},
	})
	require.Equal(t, 3, v.Matched)
	require.Equal(t, 3, v.Mismatched)
	require.Equal(t, 1, v.Missing)
	require.Equal(t, 1, v.NotCheckable)
	require.False(t, v.OK())
	var bad []string
	for _, b := range v.Bad {
		bad = append(bad, b.Path+":"+b.Problem)
	}
	require.Equal(t, []string{"bad.bin:mismatched", "gone.txt:missing", "nohash.txt:not_checkable", "size.txt:mismatched", "still.txt:mismatched"}, bad)
}

func TestMatcher(t *testing.T) {
	m, err := newMatcher([]string{"*.json", "weights/**"}, []string{"**/skip*"})
	require.NoError(t, err)
	for p, want := range map[string]bool{
		"config.json": true, "sub/config.json": true, "weights/a/b.bin": true, "weights/skip.bin": false,
		"model.bin": false, "skip.json": false,
	} {
		require.Equal(t, want, m(p), p)
	}
}

func TestCollectorAggregates(t *testing.T) {
	c := &collector{rep: &Report{}}
	for _, ev := range []Event{
		{Type: EventFileDone, Path: "a", Size: 10, Action: ActionCopied},
		{Type: EventFileDone, Path: "b", Size: 5, Action: ActionStored},
		{Type: EventFileDone, Path: "c", Size: 5, Action: ActionSkipped},
		{Type: EventFileDone, Path: "d", Action: ActionDeleted},
		{Type: EventFileDone, Path: "e", Size: 1, Action: ActionFailed, Error: "boom"},
		{Type: EventCommit, Commit: "c1"}, {Type: EventCommit, Commit: "c2"},
		{Type: EventNotice, Message: "n"},
		{Type: EventVerify, Verify: &Verification{Matched: 2}},
	} {
		c.handle(ev)
	}
	r := c.rep
	require.Equal(t, []int{2, 1, 1, 1}, []int{r.FilesCopied, r.FilesSkipped, r.FilesDeleted, r.FilesFailed})
	require.Equal(t, int64(10), r.BytesCopied)
	require.Equal(t, "c2", r.DestCommit)
	require.Equal(t, []string{"n"}, r.Notices)
	require.Len(t, r.Files, 5)
	require.True(t, c.verified())
}

func TestCoversLines(t *testing.T) {
	tests := []struct {
		got, want string
		ok        bool
	}{
		{"a\nb\n", "a\n", true},
		{"a\r\nb\r\n", "b\n\n", true},
		{"a\n", "a\nb\n", false},
		{"", "", true},
		{"x\n", "  \n", true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, coversLines([]byte(tt.got), []byte(tt.want)), "%q covers %q", tt.got, tt.want)
	}
}
