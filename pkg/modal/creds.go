package modal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoCredentials means no Modal credentials were found.
var ErrNoCredentials = errors.New("modal credentials missing")

// CheckCredentials reports whether Modal credentials are configured, naming the missing
// variable: MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or the SDK's other sources (OAuth variables,
// a profile in ~/.modal.toml or MODAL_CONFIG_PATH). It never returns a credential's value.
func CheckCredentials(getenv func(string) string) error {
	id, secret := getenv("MODAL_TOKEN_ID"), getenv("MODAL_TOKEN_SECRET")
	switch {
	case id != "" && secret != "":
		return nil
	case id != "":
		return newCredError("MODAL_TOKEN_SECRET is not set (MODAL_TOKEN_ID is)")
	case secret != "":
		return newCredError("MODAL_TOKEN_ID is not set (MODAL_TOKEN_SECRET is)")
	}
	if getenv("MODAL_OAUTH_REFRESH_TOKEN") != "" {
		return nil
	}
	if profileHasToken(getenv) {
		return nil
	}
	return newCredError("MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are not set, and no Modal profile holds a token " +
		"(create one with `modal token new`, or set both variables)")
}

func newCredError(msg string) error { return &credError{msg: msg} }

type credError struct{ msg string }

func (e *credError) Error() string { return e.msg }
func (e *credError) Unwrap() error { return ErrNoCredentials }

// profileHasToken reports whether the SDK's config file has a token_id entry.
func profileHasToken(getenv func(string) string) bool {
	path := getenv("MODAL_CONFIG_PATH")
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return false
		}
		path = filepath.Join(home, ".modal.toml")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "token_id")
}
