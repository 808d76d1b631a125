package app

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/joho/godotenv"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// Environment variables hf2ms reads. Tokens come only from here (or the Action's inputs).
const (
	EnvHFToken          = hub.EnvToken
	EnvHFEndpoint       = hub.EnvEndpoint
	EnvMSToken          = msclient.EnvToken
	EnvMSDomain         = msclient.EnvDomain
	EnvMSEndpoint       = msclient.EnvEndpoint
	EnvModalTokenID     = "MODAL_TOKEN_ID"
	EnvModalTokenSecret = "MODAL_TOKEN_SECRET"
	// EnvJob carries a worker's job when it cannot come on stdin (Modal sandboxes).
	EnvJob = "HF2MS_JOB"
)

// Env resolves configuration: the process environment first, then a .env file in the working
// directory (which never overrides the environment).
type Env struct {
	lookup func(string) (string, bool)
	dotenv map[string]string
}

// NewEnv returns an Env over lookup (os.LookupEnv in production) and the .env file at path ("" to
// skip). A missing .env is fine; a malformed one is an error.
func NewEnv(lookup func(string) (string, bool), dotenvPath string) (*Env, error) {
	e := &Env{lookup: lookup, dotenv: map[string]string{}}
	if dotenvPath == "" {
		return e, nil
	}
	m, err := godotenv.Read(dotenvPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", dotenvPath, err)
	default:
		e.dotenv = m
	}
	return e, nil
}

// Get returns the value of key, or "".
func (e *Env) Get(key string) string {
	if v, ok := e.lookup(key); ok {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(e.dotenv[key])
}

// Getenv is Get as a plain function, for packages that take one.
func (e *Env) Getenv(key string) string { return e.Get(key) }

// Endpoints returns the hub endpoints the environment selects ("" = the hub's default).
func (e *Env) Endpoints() migrate.Endpoints {
	ms := e.Get(EnvMSEndpoint)
	if ms == "" && e.Get(EnvMSDomain) != "" {
		ms = endpointForDomain(e.Get(EnvMSDomain))
	}
	return migrate.Endpoints{HF: e.Get(EnvHFEndpoint), MS: ms}
}

// endpointForDomain turns MODELSCOPE_DOMAIN (a bare domain such as modelscope.ai, or a URL) into
// a base URL, as the official SDK does.
func endpointForDomain(d string) string {
	d = strings.TrimRight(d, "/")
	if strings.HasPrefix(d, "http://") || strings.HasPrefix(d, "https://") {
		return d
	}
	return "https://" + d
}
