package mshub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/stretchr/testify/require"
)

// FuzzMSListing: a migrate.ModelScope listing answer (the whole envelope) goes through msclient and the
// engine's adapter, for models (/repo/files) and datasets (/repo/tree, paged); nothing panics,
// a Success:false envelope is an error, and unsafe entries never get past the listing check.
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
		require.False(t, successFalse(body), "a Success:false envelope was accepted: %s", body)
		migratetest.RequireListingSafe(t, migrate.ModelScope, repo, files)
	})
}

// successFalse reports whether body is a JSON object whose last "success" member (matched without
// regard to case, as encoding/json does) is false: an envelope any client must treat as a failure.
func successFalse(body []byte) bool {
	if !json.Valid(body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
		if strings.EqualFold(key, "success") {
			found = string(bytes.TrimSpace(v)) == "false"
		}
	}
	return found
}
