package migrate

import (
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// The Hugging Face Hub appends LFS patterns to .gitattributes itself. A source that carries its
// own .gitattributes (a ModelScope mirror of a Hugging Face repo) must still verify on a Hugging
// Face destination, and a re-run must be a no-op rather than rewriting the file forever.
func TestHubManagedGitattributesOnHF(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	from := Repo{ModelScope, hubkit.Model, e2eUser + "/mirror"}
	to := Repo{HuggingFace, hubkit.Model, e2eUser + "/mirror"}
	w.create(t, from, false)
	w.seed(t, from, append(e2eModelFiles(3),
		e2eFile{Path: ".gitattributes", Content: []byte("*.bin filter=lfs diff=lfs merge=lfs -text\r\n")},
		// Stored as LFS on ModelScope but matching no pattern: the Hub adds a line for it.
		e2eFile{Path: "tokenizer.json", Content: contractBytes(80<<10, 9), LFS: true},
	)...)

	rep, err := w.migrate(t, from, to)
	require.NoError(t, err, "%+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	got := string(w.read(t, to, ".gitattributes"))
	require.Contains(t, got, "*.bin filter=lfs diff=lfs merge=lfs -text")
	require.Contains(t, got, "tokenizer.json", "the fake Hub appends a pattern, as the real one does")

	commits := len(w.history(t, to))
	rep, err = w.migrate(t, from, to)
	require.NoError(t, err)
	require.Equal(t, StatusUpToDate, rep.Status)
	require.Len(t, w.history(t, to), commits)

	// A destination that lost one of the source's lines is rewritten.
	w.seed(t, to, e2eFile{Path: ".gitattributes", Content: []byte("tokenizer.json filter=lfs diff=lfs merge=lfs -text\n")})
	rep, err = w.migrate(t, from, to)
	require.NoError(t, err)
	require.Equal(t, StatusSucceeded, rep.Status)
	require.Contains(t, string(w.read(t, to, ".gitattributes")), "*.bin filter=lfs")
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
