package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/linaqruf/hf2ms/pkg/modal/modaltest"
)

// GitHub starts the Action through the image's ENTRYPOINT with no arguments: the Dockerfile's
// ENTRYPOINT is the binary built from this package, and action.yml overrides neither the
// entrypoint nor the arguments (the inputs travel as INPUT_* environment variables).
func TestImageStartsTheAction(t *testing.T) {
	cfg, err := modaltest.ReadDockerfile("../../Dockerfile")
	require.NoError(t, err)
	require.Len(t, cfg.Entrypoint, 1)
	require.Empty(t, cfg.Cmd)
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	built := regexp.MustCompile(`-o (\S+) \./cmd/action\b`).FindSubmatch(b)
	require.NotNil(t, built, "the Dockerfile builds ./cmd/action")
	require.Regexp(t, `COPY --from=build `+regexp.QuoteMeta(string(built[1]))+` `+regexp.QuoteMeta(cfg.Entrypoint[0])+`\n`, string(b))

	y, err := os.ReadFile("../../action.yml")
	require.NoError(t, err)
	var a struct {
		Runs map[string]any `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(y, &a))
	require.NotContains(t, a.Runs, "entrypoint")
	require.NotContains(t, a.Runs, "args")
}
