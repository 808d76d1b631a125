// Package app is hf2ms's service layer, shared by the command-line tool (cmd/hf2ms through
// internal/cli, which only wires flags to it) and the GitHub Action (cmd/action, which only
// reads inputs and writes outputs): it reads the configuration (Env), owns the program's secret
// redaction and its one rate-limit gate, builds the hub clients, adapters and executors,
// resolves what the user typed into repositories, and runs one migration or a batch.
//
// It may import the engine (pkg/migrate and its subpackages), the clients, pkg/modal and the
// internal helpers; it never imports a test fake.
package app

import (
	"fmt"
	"net/http"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// Service is one program run's configuration and the shared pieces every hub client gets.
type Service struct {
	// Env is the configuration the service reads (tokens, endpoints, Modal credentials).
	Env *Env
	// Executable is the program subprocess workers run ("" = this program).
	Executable string

	secrets redact.Set
	gate    *httpx.Gate
}

// New returns a service over env. Every token env holds is registered for redaction.
func New(env *Env) *Service {
	s := &Service{Env: env, gate: httpx.NewGate()}
	s.secrets.Add(env.Get(EnvHFToken), env.Get(EnvMSToken), env.Get(EnvModalTokenID), env.Get(EnvModalTokenSecret))
	return s
}

// AddSecrets registers more secrets to redact (the Action's token inputs).
func (s *Service) AddSecrets(secrets ...string) { s.secrets.Add(secrets...) }

// Redact returns text with every secret of the service and every credential shape removed:
// what the CLI and the Action call on anything they show.
func (s *Service) Redact(text string) string { return s.secrets.String(text) }

// httpClient is a retrying HTTP client sharing the service's rate-limit gate, so a 429 seen by
// any client holds every request of the process to that host.
func (s *Service) httpClient() *http.Client {
	return httpx.NewClient(httpx.WithGate(s.gate), httpx.WithUserAgent(version.UserAgent()))
}

// HFClient is a Hugging Face client with the environment's token and the endpoint ep ("" =
// the environment's, else the Hub's default).
func (s *Service) HFClient(ep string) *hub.Client {
	opts := append(hub.OptionsFromEnv(s.Env.Getenv), hub.WithHTTPClient(s.httpClient()))
	if ep != "" {
		opts = append(opts, hub.WithEndpoint(ep))
	}
	return hub.NewClient(opts...)
}

// MSClient is a ModelScope client with the environment's token and the endpoint ep ("" = the
// environment's endpoint or domain, else the default site).
func (s *Service) MSClient(ep string) *msclient.Client {
	hc := s.httpClient()
	opts := append(msclient.OptionsFromEnv(s.Env.Getenv), msclient.WithHTTPClient(hc), msclient.WithUploadHTTPClient(hc))
	if ep != "" {
		opts = append(opts, msclient.WithEndpoint(ep))
	}
	return msclient.NewClient(opts...)
}

// Hub builds the engine's hub for name, with the endpoints ep (a job's in a worker, the
// environment's otherwise). It is the worker's HubFactory.
func (s *Service) Hub(name migrate.HubName, ep migrate.Endpoints) (migrate.Hub, error) {
	switch name {
	case migrate.HuggingFace:
		return hfhub.New(s.HFClient(ep.HF)), nil
	case migrate.ModelScope:
		return mshub.New(s.MSClient(ep.MS)), nil
	}
	return nil, fmt.Errorf("unknown hub %q (want hf or ms)", name)
}

// Hubs builds both hubs of a migration.
func (s *Service) Hubs(from, to migrate.HubName) (src, dst migrate.Hub, err error) {
	ep := s.Env.Endpoints()
	if src, err = s.Hub(from, ep); err != nil {
		return nil, nil, err
	}
	dst, err = s.Hub(to, ep)
	return src, dst, err
}
