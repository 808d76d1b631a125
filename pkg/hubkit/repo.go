package hubkit

import (
	"fmt"
	"strings"
)

// RepoType is the kind of repository.
type RepoType string

// Repository types. ModelScope has models and datasets; its Studios (the counterpart of Spaces)
// have no file API.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
	Space   RepoType = "space"
)

// ParseRepoType accepts "model", "dataset" or "space", singular or plural, in any case; ""
// means Model.
func ParseRepoType(s string) (RepoType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "model", "models":
		return Model, nil
	case "dataset", "datasets":
		return Dataset, nil
	case "space", "spaces":
		return Space, nil
	}
	return "", fmt.Errorf("repo type %q: want model, dataset or space: %w", s, ErrInvalid)
}

// Valid reports whether t is one of the known types.
func (t RepoType) Valid() bool { return t == Model || t == Dataset || t == Space }

// Repo is a repository on one hub: its type ("" means Model) and its id, "namespace/name".
type Repo struct {
	Type RepoType `json:"type"`
	ID   string   `json:"id"`
}

// String renders the repo as "ns/name", "datasets/ns/name" or "spaces/ns/name".
func (r Repo) String() string {
	switch r.Type {
	case Dataset:
		return "datasets/" + r.ID
	case Space:
		return "spaces/" + r.ID
	}
	return r.ID
}
