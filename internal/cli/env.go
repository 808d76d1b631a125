package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/joho/godotenv"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// Environment variables hf2ms reads. Tokens come only from here (or the Action's inputs).
const (
	EnvHFToken          = "HF_TOKEN"
	EnvHFEndpoint       = "HF_ENDPOINT"
	EnvMSToken          = "MODELSCOPE_TOKEN"
	EnvMSDomain         = "MODELSCOPE_DOMAIN"
	EnvMSEndpoint       = "MODELSCOPE_ENDPOINT"
	EnvModalTokenID     = "MODAL_TOKEN_ID"
	EnvModalTokenSecret = "MODAL_TOKEN_SECRET"
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

// registerSecrets makes sure every token hf2ms holds is redacted from anything it prints.
func (e *Env) registerSecrets() {
	for _, k := range []string{EnvHFToken, EnvMSToken, EnvModalTokenSecret, EnvModalTokenID} {
		if v := e.Get(k); v != "" {
			httpx.RegisterSecret(v)
		}
	}
}

// Hub builds the engine's Hub for name, with the token from the environment and the endpoint
// from ep (a job's endpoints in a worker, the environment's otherwise).
func (e *Env) Hub(name migrate.HubName, ep migrate.Endpoints) (migrate.Hub, error) {
	e.registerSecrets()
	switch name {
	case migrate.HuggingFace:
		opts := []hub.Option{}
		if t := e.Get(EnvHFToken); t != "" {
			opts = append(opts, hub.WithToken(t))
		}
		if ep.HF != "" {
			opts = append(opts, hub.WithEndpoint(ep.HF))
		}
		return hfhub.New(hub.NewClient(opts...)), nil
	case migrate.ModelScope:
		opts := []msclient.Option{}
		if t := e.Get(EnvMSToken); t != "" {
			opts = append(opts, msclient.WithToken(t))
		}
		if ep.MS != "" {
			opts = append(opts, msclient.WithEndpoint(ep.MS))
		}
		return mshub.New(msclient.NewClient(opts...)), nil
	}
	return nil, fmt.Errorf("unknown hub %q (want hf or ms)", name)
}
