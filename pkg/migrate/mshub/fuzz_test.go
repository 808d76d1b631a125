package mshub_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/stretchr/testify/require"
)

// FuzzMSListing: a migrate.ModelScope listing answer (the whole envelope) goes through msclient and the
// engine's adapter, for models (/repo/files) and datasets (/repo/tree, paged); nothing panics
// and unsafe entries never get past the listing check (msclient's own fuzzers hold the envelope).
func FuzzMSListing(f *testing.F) {
	f.Add([]byte(`{"Code":200,"Data":{"Files":[{"Name":"README.md","Path":"README.md","Type":"blob","Size":12,"Sha256":"","IsLFS":false,"Revision":"abc"}]},"Success":true}`), false)
	f.Fuzz(func(t *testing.T, body []byte, dataset bool) {
		l := migratetest.NewListingServer(t, func(l *migratetest.ListingServer, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if p := r.URL.Query().Get("PageNumber"); p != "" && p != "1" {
				_, _ = w.Write([]byte(`{"Code":200,"Data":{"Files":[]},"Success":true}`))
				return
			}
			_, _ = w.Write(l.Body)
		})
		l.Body = body
		c := msclient.NewClient(msclient.WithEndpoint(l.Srv.URL), msclient.WithHTTPClient(l.Client()), msclient.WithToken("ms-fuzz-secret-token"))
		h := mshub.New(c)
		repo := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/bert"}
		if dataset {
			repo.Type = hubkit.Dataset
		}
		files, err := h.List(context.Background(), repo, "")
		require.Empty(t, l.Tr.Foreign)
		require.LessOrEqual(t, len(l.Paths), 10, "requests: %q", l.Paths)
		if err != nil {
			require.NotContains(t, err.Error(), "ms-fuzz-secret-token")
			return
		}
		migratetest.RequireListingSafe(t, migrate.ModelScope, repo, files)
	})
}
