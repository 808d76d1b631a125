package main

import (
	"fmt"
	"strconv"
	"strings"

	gha "github.com/sethvargo/go-githubactions"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// inputError names the input that is wrong and what it accepts; the step fails with exactly one
// annotation built from it.
type inputError struct {
	input, got, want string
}

func (e *inputError) Error() string {
	if e.got == "" {
		return fmt.Sprintf("input %q: %s", e.input, e.want)
	}
	return fmt.Sprintf("input %q is %q: %s", e.input, e.got, e.want)
}

// inputs are every input of action.yml, read in one place.
type inputs struct {
	source, to, dest, repoType, revision string
	refs                                 []string
	include, exclude                     []string
	del, dryRun, force, parallel         bool
	chunkSize                            int64
	executor                             string
	detach, useGit                       bool
	batch                                []string
	hfToken, msToken, msDomain           string
	modalTokenID, modalTokenSecret       string
	failOnMismatch                       bool
}

// tokenInputs are masked before anything else runs.
var tokenInputs = []string{"hf_token", "modelscope_token", "modal_token_id", "modal_token_secret"}

// maskTokens registers every token input with the runner's log masking and returns them.
func maskTokens(a *gha.Action) []string {
	var tokens []string
	for _, name := range tokenInputs {
		if v := a.GetInput(name); v != "" {
			a.AddMask(v)
			tokens = append(tokens, v)
		}
	}
	return tokens
}

// readInputs reads and validates every input.
func readInputs(a *gha.Action) (*inputs, error) {
	in := &inputs{
		source:           a.GetInput("source"),
		to:               strings.ToLower(a.GetInput("to")),
		dest:             a.GetInput("dest"),
		repoType:         strings.ToLower(a.GetInput("repo_type")),
		revision:         a.GetInput("revision"),
		include:          splitList(a.GetInput("include")),
		exclude:          splitList(a.GetInput("exclude")),
		executor:         strings.ToLower(a.GetInput("executor")),
		batch:            splitLines(a.GetInput("batch")),
		hfToken:          a.GetInput("hf_token"),
		msToken:          a.GetInput("modelscope_token"),
		msDomain:         a.GetInput("modelscope_domain"),
		modalTokenID:     a.GetInput("modal_token_id"),
		modalTokenSecret: a.GetInput("modal_token_secret"),
	}
	var err error
	bools := []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"delete", &in.del, false}, {"dry_run", &in.dryRun, false}, {"force", &in.force, false},
		{"parallel", &in.parallel, false}, {"detach", &in.detach, false}, {"use_git", &in.useGit, false},
		{"fail_on_mismatch", &in.failOnMismatch, true},
	}
	for _, b := range bools {
		if *b.dst, err = parseBool(b.name, a.GetInput(b.name), b.def); err != nil {
			return nil, err
		}
	}
	switch in.to {
	case "", "hf", "ms", "huggingface", "modelscope":
	default:
		return nil, &inputError{"to", in.to, "want hf or ms (or leave empty for the other hub)"}
	}
	switch in.repoType {
	case "", "model", "dataset", "space":
	default:
		return nil, &inputError{"repo_type", in.repoType, "want model, dataset or space (or leave empty to detect)"}
	}
	switch in.executor {
	case "":
		in.executor = "local"
	case "local", "modal":
	default:
		return nil, &inputError{"executor", in.executor, "want local or modal"}
	}
	if cs := a.GetInput("chunk_size"); cs != "" {
		if in.chunkSize, err = units.ParseSize(cs); err != nil {
			return nil, &inputError{"chunk_size", cs, "want a size such as 20GiB or 512MB"}
		}
	}
	if in.refs, err = migrate.ParseRefs(a.GetInput("refs")); err != nil {
		return nil, &inputError{"refs", a.GetInput("refs"), "want all or a comma list of globs over branch and tag names (main,v*)"}
	}
	if len(in.refs) > 0 && in.revision != "" {
		return nil, &inputError{"refs", a.GetInput("refs"), "cannot be combined with revision (the refs run pins every ref itself)"}
	}
	if len(in.refs) > 0 && in.detach {
		return nil, &inputError{"refs", a.GetInput("refs"), "cannot be combined with detach (each ref's commit starts from the one before)"}
	}
	if in.detach && in.executor != "modal" {
		return nil, &inputError{"detach", "true", "needs executor: modal (a local run cannot outlive the step)"}
	}
	if in.executor == "modal" && (in.modalTokenID == "" || in.modalTokenSecret == "") {
		return nil, &inputError{"modal_token_id", "", "executor: modal needs modal_token_id and modal_token_secret (from secrets)"}
	}
	switch {
	case in.source == "" && len(in.batch) == 0:
		return nil, &inputError{"source", "", "give a repo (user/repo, hf:user/repo, ms:user/repo or a hub URL), or a list in batch"}
	case in.source != "" && len(in.batch) > 0:
		return nil, &inputError{"batch", "", "give either source or batch, not both"}
	case len(in.batch) > 0 && in.dest != "":
		return nil, &inputError{"dest", in.dest, "dest renames a single repo; in a batch write 'SOURCE DEST' on a line"}
	}
	for _, ref := range append([]string{in.source}, in.batch...) {
		if ref == "" {
			continue
		}
		if _, err := migrate.ParseRef(strings.Fields(ref)[0]); err != nil {
			name := "source"
			if in.source == "" {
				name = "batch"
			}
			return nil, &inputError{name, strings.Fields(ref)[0], err.Error()}
		}
	}
	return in, nil
}

func parseBool(name, v string, def bool) (bool, error) {
	if strings.TrimSpace(v) == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
	if err != nil {
		return false, &inputError{name, v, "want true or false"}
	}
	return b, nil
}

// splitList splits a newline- or comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// splitLines splits one item a line, dropping blanks and # comments.
func splitLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// options turns the inputs into the engine's options.
func (in *inputs) options() migrate.Options {
	return migrate.Options{
		Revision:  in.revision,
		Include:   in.include,
		Exclude:   in.exclude,
		Delete:    in.del,
		Force:     in.force,
		Parallel:  in.parallel,
		ChunkSize: in.chunkSize,
		UseGit:    in.useGit,
		Refs:      in.refs,
	}
}
