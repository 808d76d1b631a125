package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// actionYAML is the part of action.yml these checks read.
type actionYAML struct {
	Inputs  map[string]struct{ Description, Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Description string }          `yaml:"outputs"`
	Runs    struct{ Using, Image string }                    `yaml:"runs"`
}

func loadActionYAML(t *testing.T) actionYAML {
	t.Helper()
	b, err := os.ReadFile("../../action.yml")
	require.NoError(t, err)
	var a actionYAML
	require.NoError(t, yaml.Unmarshal(b, &a))
	return a
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every input the code reads is declared (with a description) and every declared input is read;
// the same for outputs. A drift here would silently ignore a user's setting.
func TestActionYAMLMatchesTheCode(t *testing.T) {
	a := loadActionYAML(t)
	require.Equal(t, "docker", a.Runs.Using)
	src := ""
	for _, f := range []string{"inputs.go", "run.go"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		src += string(b)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`GetInput\("([a-z_]+)"\)|\{"([a-z_]+)", &in\.`).FindAllStringSubmatch(src, -1) {
		read[m[1]+m[2]] = true
	}
	for _, name := range tokenInputs {
		read[name] = true
	}
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`o\("([a-z_]+)"`).FindAllStringSubmatch(src, -1) {
		set[m[1]] = true
	}
	set["report"] = true
	require.Equal(t, keys(a.Inputs), keys(read), "inputs declared vs read")
	for name, in := range a.Inputs {
		require.NotEmpty(t, in.Description, "input %s needs a description", name)
	}
	for name := range set {
		_, ok := a.Outputs[name]
		require.True(t, ok, "output %s is set but not declared", name)
	}
	for name, out := range a.Outputs {
		require.True(t, set[name], "output %s is declared but never set", name)
		require.NotEmpty(t, out.Description)
	}
}

// The example workflows only pass inputs the action declares (actionlint checks this for `uses: ./`
// but cannot for `uses: linaqruf/hf2ms@v1`), and tokens only from secrets.
func TestExampleWorkflowsUseDeclaredInputs(t *testing.T) {
	a := loadActionYAML(t)
	files, err := filepath.Glob("../../examples/workflows/*.yml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 5)
	uses := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal(b, &wf), f)
		for _, job := range wf.Jobs {
			for _, st := range job.Steps {
				if !strings.HasPrefix(st.Uses, "linaqruf/hf2ms@") {
					continue
				}
				uses++
				for k, v := range st.With {
					_, ok := a.Inputs[k]
					require.True(t, ok, "%s: input %q is not declared in action.yml", f, k)
					if strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_secret") || k == "modal_token_id" {
						require.Regexp(t, `^\$\{\{ secrets\.[A-Z_]+ \}\}$`, v, "%s: %s must come from secrets", f, k)
					}
				}
			}
		}
	}
	require.GreaterOrEqual(t, uses, 5)
}
