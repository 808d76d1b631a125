package migrate

import (
	"errors"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"alice/bert", Ref{ID: "alice/bert"}},
		{"  alice/bert  ", Ref{ID: "alice/bert"}},
		{"hf:alice/bert", Ref{Hub: HuggingFace, ID: "alice/bert"}},
		{"HF:alice/bert", Ref{Hub: HuggingFace, ID: "alice/bert"}},
		{"huggingface:alice/bert", Ref{Hub: HuggingFace, ID: "alice/bert"}},
		{"ms:alice/bert", Ref{Hub: ModelScope, ID: "alice/bert"}},
		{"ModelScope:alice/bert", Ref{Hub: ModelScope, ID: "alice/bert"}},
		{"hf:datasets/alice/squad", Ref{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"ms:datasets/alice/squad", Ref{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"hf:spaces/alice/demo", Ref{Hub: HuggingFace, Type: hubkit.Space, ID: "alice/demo"}},
		{"hf:models/alice/bert", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"datasets/alice/squad", Ref{Type: hubkit.Dataset, ID: "alice/squad"}},
		{"ms:Qwen/Qwen2.5-7B_Instruct", Ref{Hub: ModelScope, ID: "Qwen/Qwen2.5-7B_Instruct"}},
		{"ms:a--b/c", Ref{Hub: ModelScope, ID: "a--b/c"}},
		// Hugging Face URLs.
		{"https://huggingface.co/alice/bert", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://huggingface.co/alice/bert/", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"http://www.huggingface.co/alice/bert?x=1#frag", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://hf.co/alice/bert", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"huggingface.co/alice/bert", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://huggingface.co/datasets/alice/squad", Ref{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"https://huggingface.co/spaces/alice/demo", Ref{Hub: HuggingFace, Type: hubkit.Space, ID: "alice/demo"}},
		{"https://huggingface.co/alice/bert/tree/v1.0", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "v1.0"}},
		{"https://huggingface.co/datasets/alice/squad/tree/refs%2Fconvert%2Fparquet", Ref{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad", Revision: "refs/convert/parquet"}},
		{"https://huggingface.co/alice/bert/tree/refs/pr/3", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "refs/pr/3"}},
		{"https://huggingface.co/alice/bert/commit/0123456789abcdef0123456789abcdef01234567", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "0123456789abcdef0123456789abcdef01234567"}},
		{"https://huggingface.co/alice/bert/discussions", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://huggingface.co/alice/bert.git", Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}},
		// ModelScope URLs.
		{"https://modelscope.cn/models/alice/bert", Ref{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://www.modelscope.cn/models/alice/bert/summary", Ref{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://www.modelscope.cn/datasets/alice/squad", Ref{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"https://www.modelscope.cn/datasets/alice/squad/files", Ref{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"https://modelscope.ai/models/alice/bert/files", Ref{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}},
		{"https://www.modelscope.cn/alice/bert.git", Ref{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseRefRejects(t *testing.T) {
	tests := []struct {
		in     string
		reason string // a fragment of the error message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"bert", "namespace/name"},
		{"a/b/c/d", "namespace/name"},
		{"hf:a/b/c/d", "namespace/name"},
		{"stuff/alice/bert", "not a repository type"},
		{"gh:alice/bert", "unknown hub prefix"},
		{"alice /bert", "whitespace"},
		{"alice/be rt", "whitespace"},
		{"alice/be\x00rt", "control"},
		{"alice/../bert", ".."},
		{"alice/be..rt", ".."},
		{"hf:alice/be--rt", "--"},
		{"alice/-bert", "starts with"},
		{"alice/bert.", "ends with"},
		{"alice/bért", "only letters"},
		{"alice/" + strings.Repeat("x", MaxNameLength+1), "longer than"},
		{"/bert", "empty"},
		{"ms:spaces/alice/demo", "no Spaces"},
		{"https://example.com/alice/bert", "not a Hugging Face or ModelScope host"},
		{"https://huggingface.co/alice", "namespace/name"},
		{"https://huggingface.co/alice/bert/blob/main/config.json", "points inside"},
		{"https://huggingface.co/alice/bert/resolve/main/model.bin", "points inside"},
		{"https://huggingface.co/alice/bert/tree/main/sub/dir", "points inside"},
		{"https://huggingface.co/alice/bert/whatever", "unrecognised URL tail"},
		{"https://huggingface.co/api/models/alice/bert", "API URL"},
		{"https://huggingface.co/alice/bert/tree/a..b", "not a valid branch"},
		{"https://modelscope.cn/alice/bert", "/models/ns/name"},
		{"https://modelscope.cn/studios/alice/demo", "Studios"},
		{"https://modelscope.cn/models/alice/bert/file/view/master/README.md", "points inside"},
		{"https://modelscope.cn/models/alice/bert/nope", "unrecognised URL tail"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRef(tt.in)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidRef)
			require.Contains(t, err.Error(), tt.reason)
			require.Contains(t, err.Error(), "accepted forms: ")
		})
	}
}

func TestParseRefNeverShowsURLCredentials(t *testing.T) {
	_, err := ParseRef("https://user:hf_secret123@huggingface.co/alice/bert")
	require.ErrorIs(t, err, ErrInvalidRef)
	require.NotContains(t, err.Error(), "hf_secret123")
	require.Contains(t, err.Error(), "credentials")
}

func TestRefStringRoundTrips(t *testing.T) {
	for _, in := range []string{"alice/bert", "hf:alice/bert", "ms:datasets/alice/squad", "hf:spaces/alice/demo", "models/alice/bert"} {
		r, err := ParseRef(in)
		require.NoError(t, err)
		require.Equal(t, in, r.String())
		again, err := ParseRef(r.String())
		require.NoError(t, err)
		require.Equal(t, r, again)
	}
}

func TestResolveDirection(t *testing.T) {
	ref := func(s string) Ref {
		r, err := ParseRef(s)
		require.NoError(t, err)
		return r
	}
	tests := []struct {
		name     string
		src      Ref
		to, dest string
		from, tg Repo
	}{
		{"bare defaults to HF to MS", ref("alice/bert"), "", "",
			Repo{Hub: HuggingFace, ID: "alice/bert"}, Repo{Hub: ModelScope, ID: "alice/bert"}},
		{"--to hf makes a bare source MS", ref("alice/bert"), "hf", "",
			Repo{Hub: ModelScope, ID: "alice/bert"}, Repo{Hub: HuggingFace, ID: "alice/bert"}},
		{"--to long name", ref("alice/bert"), "ModelScope", "",
			Repo{Hub: HuggingFace, ID: "alice/bert"}, Repo{Hub: ModelScope, ID: "alice/bert"}},
		{"ms prefix goes to hf", ref("ms:alice/bert"), "", "",
			Repo{Hub: ModelScope, ID: "alice/bert"}, Repo{Hub: HuggingFace, ID: "alice/bert"}},
		{"type carried over", ref("hf:datasets/alice/squad"), "", "",
			Repo{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}, Repo{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}},
		{"dest renames", ref("hf:alice/bert"), "", "org/bert-copy",
			Repo{Hub: HuggingFace, ID: "alice/bert"}, Repo{Hub: ModelScope, ID: "org/bert-copy"}},
		{"dest prefix picks hub: HF to HF", ref("hf:alice/bert"), "", "hf:org/bert",
			Repo{Hub: HuggingFace, ID: "alice/bert"}, Repo{Hub: HuggingFace, ID: "org/bert"}},
		{"--to same hub: MS to MS", ref("ms:alice/bert"), "ms", "org/bert",
			Repo{Hub: ModelScope, ID: "alice/bert"}, Repo{Hub: ModelScope, ID: "org/bert"}},
		{"dest prefix decides a bare source", ref("alice/bert"), "", "hf:org/bert",
			Repo{Hub: ModelScope, ID: "alice/bert"}, Repo{Hub: HuggingFace, ID: "org/bert"}},
		{"dest type fills in", ref("alice/squad"), "", "ms:datasets/org/squad",
			Repo{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}, Repo{Hub: ModelScope, Type: hubkit.Dataset, ID: "org/squad"}},
		{"dest URL", ref("hf:alice/bert"), "", "https://modelscope.cn/models/org/bert",
			Repo{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}, Repo{Hub: ModelScope, Type: hubkit.Model, ID: "org/bert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, tg, err := ResolveDirection(tt.src, tt.to, tt.dest)
			require.NoError(t, err)
			require.Equal(t, tt.from, from)
			require.Equal(t, tt.tg, tg)
		})
	}
}

func TestResolveDirectionRejects(t *testing.T) {
	ref := func(s string) Ref {
		r, err := ParseRef(s)
		require.NoError(t, err)
		return r
	}
	tests := []struct {
		name     string
		src      Ref
		to, dest string
		kind     error
		reason   string
	}{
		{"unknown --to", ref("alice/bert"), "github", "", ErrInvalidRef, "expected hf or ms"},
		{"--to contradicts dest", ref("alice/bert"), "hf", "ms:org/bert", ErrInvalidRef, "contradicts"},
		{"bad dest", ref("alice/bert"), "", "org/../x", ErrInvalidRef, "destination"},
		{"dest with revision", ref("alice/bert"), "", "https://huggingface.co/org/bert/tree/dev", ErrInvalidRef, "revision"},
		{"same repo", ref("hf:alice/bert"), "hf", "", ErrInvalidRef, "same repository"},
		{"type clash", ref("hf:datasets/alice/squad"), "", "ms:models/org/squad", ErrInvalidRef, "is a dataset"},
		{"MS name not valid on HF", ref("ms:alice/a--b"), "", "", ErrInvalidRef, "--dest"},
		{"space to MS", ref("hf:spaces/alice/demo"), "", "", ErrUnsupported, "Space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ResolveDirection(tt.src, tt.to, tt.dest)
			require.Error(t, err)
			require.True(t, errors.Is(err, tt.kind), "got %v", err)
			require.Contains(t, err.Error(), tt.reason)
		})
	}
}

func TestValidateID(t *testing.T) {
	require.NoError(t, ValidateID(HuggingFace, "a/b.c_d-e"))
	require.NoError(t, ValidateID(ModelScope, "a/b--c"))
	require.ErrorIs(t, ValidateID(HuggingFace, "a/b--c"), ErrInvalidRef)
	require.ErrorIs(t, ValidateID("", "a/b/c"), ErrInvalidRef)
	require.ErrorIs(t, ValidateID(HuggingFace, "a/b.git"), ErrInvalidRef)
}
