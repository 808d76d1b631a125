package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// detectStubHub answers Info from a table keyed by repo type; every other Hub method panics (the
// embedded nil interface), so the test fails loudly if Detect calls anything else.
type detectStubHub struct {
	Hub
	name    HubName
	answers map[hubkit.RepoType]error // nil = exists; a type missing from the map = hubkit.ErrNotFound
	asked   []hubkit.RepoType
}

func (s *detectStubHub) Name() HubName { return s.name }

func (s *detectStubHub) Info(_ context.Context, repo Repo) (*RepoInfo, error) {
	s.asked = append(s.asked, repo.Type)
	err, ok := s.answers[repo.Type]
	if !ok {
		return nil, fmt.Errorf("stub: %s: %w", repo, hubkit.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &RepoInfo{DefaultBranch: "main"}, nil
}

func TestDetect(t *testing.T) {
	netErr := errors.New("dial tcp: connection refused")
	unauth := fmt.Errorf("401: %w", hubkit.ErrUnauthorized)
	tests := []struct {
		name      string
		hub       HubName
		answers   map[hubkit.RepoType]error
		want      hubkit.RepoType
		notice    string // fragment; "" = no notice
		wantErr   error
		errText   string
		wantAsked []hubkit.RepoType
	}{
		{name: "model", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Model: nil},
			want: hubkit.Model, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "dataset", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Dataset: nil},
			want: hubkit.Dataset, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "space on HF", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Space: nil},
			want: hubkit.Space, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "MS never asks for spaces", hub: ModelScope, answers: map[hubkit.RepoType]error{hubkit.Dataset: nil},
			want: hubkit.Dataset, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset}},
		{name: "several: model preferred with a notice", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Model: nil, hubkit.Dataset: nil},
			want: hubkit.Model, notice: "hf:alice/x exists as a model and as a dataset", wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "dataset and space", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Dataset: nil, hubkit.Space: nil},
			want: hubkit.Dataset, notice: "using the dataset", wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "nothing found", hub: HuggingFace, answers: map[hubkit.RepoType]error{},
			wantErr: hubkit.ErrNotFound, errText: "hf:alice/x not found as model, dataset or space", wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
		{name: "nothing found on MS", hub: ModelScope, answers: map[hubkit.RepoType]error{},
			wantErr: hubkit.ErrNotFound, errText: "ms:alice/x not found as model or dataset", wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset}},
		{name: "unauthorized is not not-found", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Model: unauth},
			wantErr: hubkit.ErrUnauthorized, wantAsked: []hubkit.RepoType{hubkit.Model}},
		{name: "network error after a 404 is returned", hub: ModelScope, answers: map[hubkit.RepoType]error{hubkit.Dataset: netErr},
			wantErr: netErr, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset}},
		{name: "a failing extra probe after a find is ignored", hub: HuggingFace, answers: map[hubkit.RepoType]error{hubkit.Model: nil, hubkit.Dataset: netErr},
			want: hubkit.Model, wantAsked: []hubkit.RepoType{hubkit.Model, hubkit.Dataset, hubkit.Space}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &detectStubHub{name: tt.hub, answers: tt.answers}
			d, err := Detect(context.Background(), h, "", "alice/x")
			require.Equal(t, tt.wantAsked, h.asked)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if !errors.Is(tt.wantErr, hubkit.ErrNotFound) {
					require.NotErrorIs(t, err, hubkit.ErrNotFound)
				}
				require.Contains(t, err.Error(), tt.errText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, d.Type)
			if tt.notice == "" {
				require.Empty(t, d.Notice)
			} else {
				require.Contains(t, d.Notice, tt.notice)
			}
			typ, err := DetectType(context.Background(), &detectStubHub{name: tt.hub, answers: tt.answers}, tt.hub, "alice/x")
			require.NoError(t, err)
			require.Equal(t, tt.want, typ)
		})
	}
}
