package msclient

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func TestWantsLFS(t *testing.T) {
	tests := []struct {
		typ  hubkit.RepoType
		path string
		size int64
		want bool
	}{
		{hubkit.Model, "README.md", MaxCommitInlineBytes, false},
		{hubkit.Model, "README.md", MaxCommitInlineBytes + 1, true},
		{hubkit.Model, "sub/config.json", 1 << 20, false},
		{hubkit.Model, "configuration.json", 100, false},
		{hubkit.Model, "model.msc", 1 << 20, false},
		{hubkit.Model, "small.txt", InlineThreshold, false},
		{hubkit.Model, "small.txt", InlineThreshold + 1, true},
		{hubkit.Model, "tiny.safetensors", 10, true},
		{hubkit.Model, "w/model.BIN", 10, true},
		{hubkit.Model, "empty.bin", 0, false},
		{hubkit.Model, "img.png", 100, false},
		{hubkit.Dataset, "img.png", 100, true},
		{hubkit.Dataset, "data/train.jsonl", 100, true},
		{hubkit.Dataset, "data/train.csv", 100, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, WantsLFS(tt.typ, tt.path, tt.size), "%s %s %d", tt.typ, tt.path, tt.size)
	}
}
