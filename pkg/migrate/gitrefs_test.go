package migrate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func TestParseRefs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "all", want: []string{"**"}},
		{in: "ALL", want: []string{"**"}},
		{in: "main, v*", want: []string{"main", "v*"}},
		{in: "release/**,", want: []string{"release/**"}},
		{in: ",", wantErr: true},
		{in: "v[", wantErr: true},
	} {
		got, err := ParseRefs(tc.in)
		if tc.wantErr {
			assert.ErrorIs(t, err, hubkit.ErrInvalid, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"v2", "v10", true},
		{"v1.9", "v1.10", true},
		{"v1.10", "v1.9", false},
		{"v1", "v1.0", true},
		{"alpha", "beta", true},
		{"v01", "v2", true},
	} {
		assert.Equal(t, tc.less, naturalCompare(tc.a, tc.b) < 0, "%s < %s", tc.a, tc.b)
	}
}

func names(steps []RefStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Kind+":"+s.Source.Name+">"+s.Dest.Name)
	}
	return out
}

func TestMapRefs(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	src := []GitRef{
		{Kind: RefBranch, Name: "main", Commit: "c3"},
		{Kind: RefBranch, Name: "dev", Commit: "c4"},
		{Kind: RefTag, Name: "v10", Commit: "c2"},
		{Kind: RefTag, Name: "v2", Commit: "c1"},
		{Kind: RefTag, Name: "nightly", Commit: "c5"},
	}
	dest := []GitRef{{Kind: RefTag, Name: "v1", Commit: "d0"}, {Kind: RefTag, Name: "keep", Commit: "d1"}}
	for _, tc := range []struct {
		name string
		in   refInput
		want []string
	}{
		{
			name: "to the Hub: default, branches, tags in natural order, stale tag kept",
			in:   refInput{src: src, srcDefault: "main", destHub: HuggingFace, destDefault: "main", dest: dest, patterns: []string{"**"}},
			want: []string{"default:main>main", "branch:dev>dev", "tag:nightly>nightly", "tag:v2>v2", "tag:v10>v10", "refused:keep>keep", "refused:v1>v1"},
		},
		{
			name: "to the Hub with --delete and a pattern: only matching stale tags go",
			in:   refInput{src: src, srcDefault: "main", destHub: HuggingFace, destDefault: "main", dest: dest, patterns: []string{"v*"}, delete: true},
			want: []string{"default:main>main", "tag:v2>v2", "tag:v10>v10", "delete:v1>v1"},
		},
		{
			name: "to ModelScope: tags first, default last, branches refused",
			in:   refInput{src: src, srcDefault: "main", destHub: ModelScope, destDefault: "master", patterns: []string{"**"}, delete: true},
			want: []string{"tag:nightly>nightly", "tag:v2>v2", "tag:v10>v10", "default:main>master", "refused:dev>"},
		},
		{
			name: "tags with dates: oldest first",
			in: refInput{src: []GitRef{
				{Kind: RefBranch, Name: "master", Commit: "a"},
				{Kind: RefTag, Name: "b", Commit: "b", Created: t0.Add(time.Hour)},
				{Kind: RefTag, Name: "a", Commit: "c", Created: t0.Add(2 * time.Hour)},
			}, srcDefault: "master", destHub: HuggingFace, destDefault: "main", patterns: []string{"**"}},
			want: []string{"default:master>main", "tag:b>b", "tag:a>a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, names(mapRefs(tc.in)))
		})
	}
}
