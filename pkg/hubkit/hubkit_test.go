package hubkit

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpKindString(t *testing.T) {
	for k, want := range map[OpKind]string{OpAddFile: "add-file", OpAddLFS: "add-lfs", OpDelete: "delete", OpKind(9): "OpKind(9)"} {
		require.Equal(t, want, k.String())
	}
}

func TestParseRepoType(t *testing.T) {
	tests := []struct {
		in   string
		want RepoType
		ok   bool
	}{
		{"", Model, true}, {"models", Model, true}, {" Dataset ", Dataset, true}, {"SPACES", Space, true}, {"studio", "", false},
	}
	for _, tt := range tests {
		got, err := ParseRepoType(tt.in)
		if !tt.ok {
			require.ErrorIs(t, err, ErrInvalid, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
		require.True(t, got.Valid())
	}
	require.False(t, RepoType("studio").Valid())
}

func TestRepoString(t *testing.T) {
	require.Equal(t, "a/b", Repo{ID: "a/b"}.String())
	require.Equal(t, "datasets/a/b", Repo{Type: Dataset, ID: "a/b"}.String())
	require.Equal(t, "spaces/a/b", Repo{Type: Space, ID: "a/b"}.String())
}

func TestSources(t *testing.T) {
	data := []byte("0123456789")
	for name, src := range map[string]Source{"bytes": Bytes(data), "readerat": ReaderAtSource(bytes.NewReader(data))} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				off, n int64
				want   string
			}{{0, -1, "0123456789"}, {3, 4, "3456"}, {8, 10, "89"}, {10, -1, ""}} {
				rc, err := src.OpenRange(context.Background(), tc.off, tc.n)
				require.NoError(t, err)
				b, err := io.ReadAll(rc)
				require.NoError(t, err)
				require.NoError(t, rc.Close())
				require.Equal(t, tc.want, string(b))
			}
			_, err := src.OpenRange(context.Background(), -1, 1)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	_, err := Bytes(data).OpenRange(context.Background(), 11, 1)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestHashes(t *testing.T) {
	// Values from `printf hello | sha256sum` and `printf hello | git hash-object --stdin`.
	require.Equal(t, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", SHA256Hex([]byte("hello")))
	require.Equal(t, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0", GitBlobID([]byte("hello")))
	require.Equal(t, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", GitBlobID(nil))
}

func TestOptionsFromEnv(t *testing.T) {
	vars := []EnvVar[string]{
		{Name: "A", Option: func(v string) string { return "a=" + v }},
		{Name: "B", Option: func(v string) string { return "b=" + v }},
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"none set", map[string]string{}, nil},
		{"blank counts as unset, values trimmed", map[string]string{"A": "  ", "B": " x "}, []string{"b=x"}},
		{"in the order of vars", map[string]string{"B": "2", "A": "1"}, []string{"a=1", "b=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OptionsFromEnv(func(k string) string { return tt.env[k] }, vars...)
			require.Equal(t, tt.want, got)
		})
	}
}
