//go:build tools

// Package deps pins dependencies that packages under construction will import; delete once all are used.
package deps
import (
 _ "github.com/hashicorp/go-retryablehttp"
 _ "github.com/cenkalti/backoff/v4"
 _ "github.com/stretchr/testify/require"
 _ "github.com/modal-labs/modal-client/go"
 _ "github.com/go-git/go-git/v5"
 _ "github.com/bmatcuk/doublestar/v4"
 _ "gopkg.in/yaml.v3"
 _ "golang.org/x/sync/errgroup"
 _ "github.com/spf13/cobra"
 _ "github.com/vbauerster/mpb/v8"
 _ "github.com/sethvargo/go-githubactions"
 _ "github.com/joho/godotenv"
 _ "github.com/mattn/go-isatty"
)
