package memhub

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

var tRepo = migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "a/b"}

func TestUploadVerifiesAndCommitIsStrict(t *testing.T) {
	ctx := context.Background()
	data := []byte(strings.Repeat("x", 3000))
	good := hubkit.SHA256Hex(data)
	for _, tc := range []struct {
		name    string
		blob    migrate.Blob
		src     hubkit.Source
		wantErr error
	}{
		{"ok in parts", migrate.Blob{OID: good, Size: 3000}, hubkit.Bytes(data), nil},
		{"wrong bytes", migrate.Blob{OID: good, Size: 3000}, hubkit.Bytes([]byte(strings.Repeat("y", 3000))), hubkit.ErrHashMismatch},
		{"short", migrate.Blob{OID: good, Size: 3000}, hubkit.Bytes(data[:2000]), hubkit.ErrHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(migrate.HuggingFace, WithPartSize(1024))
			require.NoError(t, h.Create(ctx, tRepo, false))
			ups, err := h.PrepareBlobs(ctx, tRepo, "main", []migrate.Blob{tc.blob})
			require.NoError(t, err)
			require.Len(t, ups, 1)
			_, err = ups[0].Upload(ctx, tc.src, migrate.UploadOptions{})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.False(t, h.HasBlob(tRepo, good))
				_, err = h.Commit(ctx, tRepo, "main", "m", []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "f", SHA256: good, Size: 3000}})
				require.ErrorIs(t, err, hubkit.ErrInvalid, "pointer to a blob not stored")
				return
			}
			require.NoError(t, err)
			ups, err = h.PrepareBlobs(ctx, tRepo, "main", []migrate.Blob{tc.blob})
			require.NoError(t, err)
			require.Empty(t, ups, "stored blobs are omitted")
			_, err = h.Commit(ctx, tRepo, "main", "m", []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "f", SHA256: good, Size: 3000}})
			require.NoError(t, err)
			got, err := h.ReadFile(tRepo, "", "f")
			require.NoError(t, err)
			require.Equal(t, data, got)
		})
	}
}

func TestListingFlavoursAndFaults(t *testing.T) {
	ctx := context.Background()
	b := synth.Blob{Size: 5000, Seed: 3}
	for _, name := range []migrate.HubName{migrate.HuggingFace, migrate.ModelScope} {
		h := New(name)
		h.Seed(tRepo, false, FileSpec{Path: "r.txt", Data: []byte("hi")}, FileSpec{Path: "l.bin", Blob: &b})
		files, err := h.List(ctx, tRepo, "")
		require.NoError(t, err)
		require.Equal(t, "l.bin", files[0].Path)
		require.Equal(t, b.SHA256(), files[0].SHA256)
		require.Equal(t, name == migrate.ModelScope, files[1].SHA256 != "", "regular-file sha256 only on ModelScope")
		require.Equal(t, hubkit.GitBlobID([]byte("hi")), files[1].GitOID)

		h.AddFault(Fault{Op: "open", Path: "l.bin", After: 10, Times: 1})
		_, err = h.ReadFile(tRepo, "", "l.bin")
		require.ErrorIs(t, err, hubkit.ErrServer)
		got, err := h.ReadFile(tRepo, "", "l.bin")
		require.NoError(t, err, "fault used up")
		require.Equal(t, b.Bytes(), got)
	}
	h := New(migrate.ModelScope, WithLimits(migrate.Limits{MaxOps: 1}))
	h.Seed(tRepo, false)
	_, err := h.Commit(ctx, tRepo, "master", "m", []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}, {Kind: hubkit.OpAddFile, Path: "b"}})
	require.ErrorIs(t, err, hubkit.ErrInvalid)
}
