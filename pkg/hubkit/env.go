package hubkit

import "strings"

// EnvVar pairs an environment variable with the client option its value makes; clients list
// theirs for OptionsFromEnv.
type EnvVar[O any] struct {
	// Name is the variable's name, like "HF_TOKEN".
	Name string
	// Option makes the option from the variable's value, trimmed and never empty.
	Option func(value string) O
}

// OptionsFromEnv returns, in the order of vars, the option of every variable getenv (os.Getenv,
// or a program's own configuration) gives a value for; blank values count as unset. It is how a
// client offers "configure me from the environment" without reading the environment itself.
func OptionsFromEnv[O any](getenv func(string) string, vars ...EnvVar[O]) []O {
	var opts []O
	for _, v := range vars {
		if val := strings.TrimSpace(getenv(v.Name)); val != "" {
			opts = append(opts, v.Option(val))
		}
	}
	return opts
}
