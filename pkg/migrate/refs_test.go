package migrate

import (
	"errors"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

func TestParseRef(t *testing.T) {
	// Each group: the inputs that all parse to want.
	tests := []struct {
		want Ref
		ins  []string
	}{
		{Ref{ID: "alice/bert"}, []string{
			"alice/bert",
			"  alice/bert  ",
		}},
		{Ref{Hub: HuggingFace, ID: "alice/bert"}, []string{
			"hf:alice/bert",
			"HF:alice/bert",
			"huggingface:alice/bert",
		}},
		{Ref{Hub: ModelScope, ID: "alice/bert"}, []string{
			"ms:alice/bert",
			"ModelScope:alice/bert",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}, []string{
			"hf:datasets/alice/squad",
			"https://huggingface.co/datasets/alice/squad",
		}},
		{Ref{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}, []string{
			"ms:datasets/alice/squad",
			"https://www.modelscope.cn/datasets/alice/squad",
			"https://www.modelscope.cn/datasets/alice/squad/files",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Space, ID: "alice/demo"}, []string{
			"hf:spaces/alice/demo",
			"https://huggingface.co/spaces/alice/demo",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}, []string{
			"hf:models/alice/bert",
			"https://huggingface.co/alice/bert",
			"https://huggingface.co/alice/bert/",
			"http://www.huggingface.co/alice/bert?x=1#frag",
			"https://hf.co/alice/bert",
			"huggingface.co/alice/bert",
			"https://huggingface.co/alice/bert/discussions",
			"https://huggingface.co/alice/bert.git",
		}},
		{Ref{Type: hubkit.Dataset, ID: "alice/squad"}, []string{
			"datasets/alice/squad",
		}},
		{Ref{Hub: ModelScope, ID: "Qwen/Qwen2.5-7B_Instruct"}, []string{
			"ms:Qwen/Qwen2.5-7B_Instruct",
		}},
		{Ref{Hub: ModelScope, ID: "a--b/c"}, []string{
			"ms:a--b/c",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "v1.0"}, []string{
			"https://huggingface.co/alice/bert/tree/v1.0",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad", Revision: "refs/convert/parquet"}, []string{
			"https://huggingface.co/datasets/alice/squad/tree/refs%2Fconvert%2Fparquet",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "refs/pr/3"}, []string{
			"https://huggingface.co/alice/bert/tree/refs/pr/3",
		}},
		{Ref{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert", Revision: "0123456789abcdef0123456789abcdef01234567"}, []string{
			"https://huggingface.co/alice/bert/commit/0123456789abcdef0123456789abcdef01234567",
		}},
		{Ref{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}, []string{
			"https://modelscope.cn/models/alice/bert",
			"https://www.modelscope.cn/models/alice/bert/summary",
			"https://modelscope.ai/models/alice/bert/files",
			"https://www.modelscope.cn/alice/bert.git",
		}},
	}
	for _, tt := range tests {
		for _, in := range tt.ins {
			t.Run(in, func(t *testing.T) {
				got, err := ParseRef(in)
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			})
		}
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
		kind     error  // nil: resolves to from and tg
		reason   string // with kind: a fragment of the error message
	}{
		{name: "bare defaults to HF to MS", src: ref("alice/bert"),
			from: Repo{Hub: HuggingFace, ID: "alice/bert"}, tg: Repo{Hub: ModelScope, ID: "alice/bert"}},
		{name: "--to hf makes a bare source MS", src: ref("alice/bert"), to: "hf",
			from: Repo{Hub: ModelScope, ID: "alice/bert"}, tg: Repo{Hub: HuggingFace, ID: "alice/bert"}},
		{name: "--to long name", src: ref("alice/bert"), to: "ModelScope",
			from: Repo{Hub: HuggingFace, ID: "alice/bert"}, tg: Repo{Hub: ModelScope, ID: "alice/bert"}},
		{name: "ms prefix goes to hf", src: ref("ms:alice/bert"),
			from: Repo{Hub: ModelScope, ID: "alice/bert"}, tg: Repo{Hub: HuggingFace, ID: "alice/bert"}},
		{name: "type carried over", src: ref("hf:datasets/alice/squad"),
			from: Repo{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}, tg: Repo{Hub: ModelScope, Type: hubkit.Dataset, ID: "alice/squad"}},
		{name: "dest renames", src: ref("hf:alice/bert"), dest: "org/bert-copy",
			from: Repo{Hub: HuggingFace, ID: "alice/bert"}, tg: Repo{Hub: ModelScope, ID: "org/bert-copy"}},
		{name: "dest prefix picks hub: HF to HF", src: ref("hf:alice/bert"), dest: "hf:org/bert",
			from: Repo{Hub: HuggingFace, ID: "alice/bert"}, tg: Repo{Hub: HuggingFace, ID: "org/bert"}},
		{name: "--to same hub: MS to MS", src: ref("ms:alice/bert"), to: "ms", dest: "org/bert",
			from: Repo{Hub: ModelScope, ID: "alice/bert"}, tg: Repo{Hub: ModelScope, ID: "org/bert"}},
		{name: "dest prefix decides a bare source", src: ref("alice/bert"), dest: "hf:org/bert",
			from: Repo{Hub: ModelScope, ID: "alice/bert"}, tg: Repo{Hub: HuggingFace, ID: "org/bert"}},
		{name: "dest type fills in", src: ref("alice/squad"), dest: "ms:datasets/org/squad",
			from: Repo{Hub: HuggingFace, Type: hubkit.Dataset, ID: "alice/squad"}, tg: Repo{Hub: ModelScope, Type: hubkit.Dataset, ID: "org/squad"}},
		{name: "dest URL", src: ref("hf:alice/bert"), dest: "https://modelscope.cn/models/org/bert",
			from: Repo{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}, tg: Repo{Hub: ModelScope, Type: hubkit.Model, ID: "org/bert"}},

		{name: "unknown --to", src: ref("alice/bert"), to: "github", kind: ErrInvalidRef, reason: "expected hf or ms"},
		{name: "--to contradicts dest", src: ref("alice/bert"), to: "hf", dest: "ms:org/bert", kind: ErrInvalidRef, reason: "contradicts"},
		{name: "bad dest", src: ref("alice/bert"), dest: "org/../x", kind: ErrInvalidRef, reason: "destination"},
		{name: "dest with revision", src: ref("alice/bert"), dest: "https://huggingface.co/org/bert/tree/dev", kind: ErrInvalidRef, reason: "revision"},
		{name: "same repo", src: ref("hf:alice/bert"), to: "hf", kind: ErrInvalidRef, reason: "same repository"},
		{name: "type clash", src: ref("hf:datasets/alice/squad"), dest: "ms:models/org/squad", kind: ErrInvalidRef, reason: "is a dataset"},
		{name: "MS name not valid on HF", src: ref("ms:alice/a--b"), kind: ErrInvalidRef, reason: "--dest"},
		{name: "space to MS", src: ref("hf:spaces/alice/demo"), kind: ErrUnsupported, reason: "Space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, tg, err := ResolveDirection(tt.src, tt.to, tt.dest)
			if tt.kind != nil {
				require.Error(t, err)
				require.True(t, errors.Is(err, tt.kind), "got %v", err)
				require.Contains(t, err.Error(), tt.reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.from, from)
			require.Equal(t, tt.tg, tg)
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
