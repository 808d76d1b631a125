package migrate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Fuzz tests for the engine's parsers of untrusted input: repository references (command line,
// Action inputs, batch files), README front matter (the source repo's), and both hubs' file
// listings as the adapters hand them to the planner. Seeds live in testdata/fuzz/FuzzXxx and run
// as plain tests; `go test -fuzz '^FuzzXxx$'` explores from them.

// FuzzParseRef: ParseRef and ResolveDirection never panic; an accepted reference has a safe,
// valid id and round-trips through String; a resolved direction names two valid, distinct repos.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"alice/bert", "hf:alice/bert", "ms:datasets/alice/squad", "hf:spaces/alice/demo",
		"https://huggingface.co/datasets/alice/squad/tree/refs%2Fconvert%2Fparquet",
	} {
		f.Add(s, "", "")
	}
	f.Fuzz(func(t *testing.T, s, to, dest string) {
		r, err := ParseRef(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidRef)
			return
		}
		requireSafeID(t, r.ID)
		require.NoError(t, ValidateID(r.Hub, r.ID))
		require.NoError(t, validateRevision(r.Revision))
		again, err := ParseRef(r.String())
		require.NoError(t, err, "String() = %q", r.String())
		require.Equal(t, r, again, "String() = %q", r.String())

		from, target, err := ResolveDirection(r, to, dest)
		if err != nil {
			require.True(t, errorsIsAny(err, ErrInvalidRef, ErrUnsupported), "%v", err)
			return
		}
		for _, repo := range []Repo{from, target} {
			require.Contains(t, []HubName{HuggingFace, ModelScope}, repo.Hub)
			requireSafeID(t, repo.ID)
			require.NoError(t, ValidateID(repo.Hub, repo.ID))
		}
		require.Equal(t, r.ID, from.ID)
		require.NotEqual(t, from, target)
		require.False(t, target.Type == hubkit.Space && target.Hub == ModelScope)
		if r.Hub != "" {
			require.Equal(t, r.Hub, from.Hub)
		}
	})
}

func requireSafeID(t *testing.T, id string) {
	t.Helper()
	require.NotContains(t, id, "..")
	require.NotContains(t, id, "\\")
	require.NotContains(t, id, "\x00")
	require.False(t, strings.HasPrefix(id, "/"), "id %q", id)
	require.False(t, strings.ContainsFunc(id, unicode.IsSpace), "id %q", id)
	require.Equal(t, 1, strings.Count(id, "/"), "id %q", id)
}

func errorsIsAny(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// FuzzFixReadmeLicense: FixReadmeLicense never panics; everything outside the front matter is
// byte-identical; a second pass changes nothing; the output's front matter is still valid YAML
// whose license values are all ones the Hub accepts.
func FuzzFixReadmeLicense(f *testing.F) {
	f.Add([]byte("---\nlicense: Apache License 2.0\n---\n# hubkit.Model\n"))
	f.Add([]byte("---\r\nlicense: MIT\r\n---\r\nbody\r\n"))
	f.Add([]byte("no front matter\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, changed, err := FixReadmeLicense(in)
		require.Equal(t, orig, in, "the input was modified")
		if err != nil {
			require.Equal(t, in, out)
			require.False(t, changed)
			return
		}
		if !changed {
			require.Equal(t, in, out)
			return
		}
		start, end, ok := frontMatter(in)
		require.True(t, ok, "changed without front matter")
		body := in[end:]
		require.True(t, bytes.HasPrefix(out, in[:start]), "the opening line changed")
		require.True(t, bytes.HasSuffix(out, body), "the body after the front matter changed")

		ostart, oend, ok := frontMatter(out)
		require.True(t, ok, "the output lost its front matter:\n%q", out)
		require.Equal(t, start, ostart)
		require.Equal(t, len(out)-len(body), oend, "the front matter ends elsewhere:\n%q", out)
		var before, after yaml.Node
		require.NoError(t, yaml.Unmarshal(in[start:end], &before))
		require.NoError(t, yaml.Unmarshal(out[ostart:oend], &after), "output front matter:\n%s", out[ostart:oend])
		requireSameExceptLicense(t, &before, &after)

		again, changed2, err := FixReadmeLicense(out)
		require.NoError(t, err)
		require.False(t, changed2, "a second pass changed:\n%q\n->\n%q", out, again)
		require.Equal(t, out, again)
	})
}

// requireSameExceptLicense checks that the two front matters have the same top-level keys and
// values except the license, whose values must all be accepted license ids.
func requireSameExceptLicense(t *testing.T, before, after *yaml.Node) {
	t.Helper()
	require.Equal(t, yaml.DocumentNode, after.Kind)
	require.NotEmpty(t, after.Content)
	b, a := before.Content[0], after.Content[0]
	require.Equal(t, yaml.MappingNode, a.Kind)
	require.Equal(t, len(b.Content), len(a.Content))
	for i := 0; i+1 < len(a.Content); i += 2 {
		require.Equal(t, b.Content[i].Value, a.Content[i].Value)
		if a.Content[i].Value != "license" {
			requireSameNode(t, b.Content[i+1], a.Content[i+1])
			continue
		}
		v := a.Content[i+1]
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, it := range items {
			if it.Kind == yaml.ScalarNode && it.Tag != "!!null" {
				require.True(t, hfLicenses[it.Value], "license %q is not accepted by the Hub", it.Value)
			}
		}
	}
}

func requireSameNode(t *testing.T, b, a *yaml.Node) {
	t.Helper()
	require.Equal(t, b.Kind, a.Kind)
	require.Equal(t, b.Value, a.Value)
	require.Equal(t, b.Tag, a.Tag)
	require.Equal(t, len(b.Content), len(a.Content))
	for i := range b.Content {
		requireSameNode(t, b.Content[i], a.Content[i])
	}
}
