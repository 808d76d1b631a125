package modaltest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// ImageConfig is the part of a container image's configuration that decides what a sandbox
// runs: Docker's ENTRYPOINT and CMD.
//
// Modal appends a sandbox's Command to the image's ENTRYPOINT rather than replacing it, and runs
// the image's CMD when the sandbox has no Command (reported with registry images in
// PrimeIntellect-ai/verifiers PR #1863 and rllm-org/rllm PR #836; CMD when no Command:
// modal-labs/modal-client PR #2943). The fake runs ENTRYPOINT + Command, or ENTRYPOINT + CMD.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
}

// argv is what a container of this image runs for a sandbox Command (Docker's rule: ENTRYPOINT
// followed by the arguments, which default to CMD).
func (c ImageConfig) argv(command []string) []string {
	if len(command) == 0 {
		command = c.Cmd
	}
	return append(slices.Clone(c.Entrypoint), command...)
}

// ReadDockerfile returns the ENTRYPOINT and CMD of the final stage of the Dockerfile at path, so
// a test runs sandboxes the way the image built from it would run them. It understands the
// exec form (a JSON array) and the shell form (run by /bin/sh -c), line continuations and
// comments; as in Docker, an ENTRYPOINT resets a CMD set before it in the same stage
// (https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact).
// A stage FROM another stage of the same file inherits that stage's configuration.
func ReadDockerfile(path string) (ImageConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ImageConfig{}, err
	}
	stages := map[string]ImageConfig{}
	var cur ImageConfig
	name := ""
	for _, ins := range dockerfileInstructions(string(b)) {
		word, rest, _ := strings.Cut(ins, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:] // --platform=...
			}
			if len(f) == 0 {
				return ImageConfig{}, fmt.Errorf("%s: FROM without an image", path)
			}
			// A registry base image's own configuration is not known here: none.
			cur, name = stages[strings.ToLower(f[0])], ""
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				name = strings.ToLower(f[2])
			}
		case "ENTRYPOINT", "CMD":
			argv, err := parseCommandForm(rest)
			if err != nil {
				return ImageConfig{}, fmt.Errorf("%s: %s: %w", path, word, err)
			}
			if strings.EqualFold(word, "ENTRYPOINT") {
				cur.Entrypoint, cur.Cmd = argv, nil
			} else {
				cur.Cmd = argv
			}
		}
		if name != "" {
			stages[name] = cur
		}
	}
	return cur, nil
}

// dockerfileInstructions splits a Dockerfile into instructions: comments and blank lines
// dropped, lines ending in a backslash joined with the next.
func dockerfileInstructions(text string) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(line, "\\")) + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// parseCommandForm parses the argument of ENTRYPOINT or CMD: a JSON array of strings (exec
// form, "[]" clearing it) or anything else, run as /bin/sh -c (shell form).
func parseCommandForm(arg string) ([]string, error) {
	if strings.HasPrefix(arg, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(arg), &argv); err != nil {
			return nil, fmt.Errorf("exec form %s: %w", arg, err)
		}
		if len(argv) == 0 {
			return nil, nil
		}
		return argv, nil
	}
	if arg == "" {
		return nil, fmt.Errorf("no command")
	}
	return []string{"/bin/sh", "-c", arg}, nil
}
