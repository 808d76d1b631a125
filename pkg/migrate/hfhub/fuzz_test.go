package hfhub_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/stretchr/testify/require"
)

// FuzzHFListing: a Hugging Face tree page (JSON body and Link header) goes through hub.Client
// and the engine's adapter; nothing panics, the Link cursor never leaves the endpoint, and unsafe
// entries never get past the planner's listing check.
func FuzzHFListing(f *testing.F) {
	f.Add([]byte(`[{"type":"file","oid":"3f2a6c2f0b1d5c1b9b5b4e7b1a2f1c9d8e7f6a5b","size":12,"path":"README.md"}]`), "")
	f.Fuzz(func(t *testing.T, body []byte, link string) {
		l := migratetest.NewListingServer(t, func(l *migratetest.ListingServer, w http.ResponseWriter, _ *http.Request) {
			if l.Link != "" {
				w.Header().Set("Link", l.Link)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(l.Body)
		})
		l.Body, l.Link = body, strings.ReplaceAll(link, "%SERVER%", l.Srv.URL)
		c := hub.NewClient(hub.WithEndpoint(l.Srv.URL), hub.WithHTTPClient(l.Client()), hub.WithToken("hf_fuzzSecretToken123"))
		h := hfhub.New(c)
		repo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/bert"}
		files, err := h.List(context.Background(), repo, "")
		require.Empty(t, l.Tr.Foreign, "the client followed a cursor off the endpoint")
		require.LessOrEqual(t, len(l.Paths), 2, "requests: %q", l.Paths)
		if err != nil {
			require.NotContains(t, err.Error(), "hf_fuzzSecretToken123")
			return
		}
		migratetest.RequireListingSafe(t, migrate.HuggingFace, repo, files)
	})
}
