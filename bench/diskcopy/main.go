// Command diskcopy models the earlier Python tool for bench/run.sh: it downloads every file of the
// source repo into a temporary directory, and only then uploads the directory to the destination,
// through the same hub clients and the same engine hf2ms uses (the upload phase runs the hf2ms
// engine over a source that reads the downloaded files from disk). The download phase keeps the
// same number of files in flight as hf2ms. The temporary directory is removed at the end.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/bench/internal/manifest"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

func main() {
	path := flag.String("manifest", "", "manifest written by fakehubs")
	dest := flag.String("dest", "", "destination repo id")
	files := flag.Int("files", migrate.DefaultFiles, "files in flight")
	dir := flag.String("dir", "", "parent of the temporary directory (default: the system's)")
	flag.Parse()
	m, err := manifest.Read(*path)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(context.Background(), m, *dest, *dir, *files); err != nil {
		log.Fatalf("diskcopy: %v", err)
	}
}

func run(ctx context.Context, m *manifest.Manifest, dest, parent string, files int) error {
	hf := hfhub.New(hub.NewClient(hub.WithToken(m.HFToken), hub.WithEndpoint(m.HFEndpoint)))
	ms := mshub.New(msclient.NewClient(msclient.WithToken(m.MSToken), msclient.WithEndpoint(m.MSEndpoint)))
	ref, err := migrate.ParseRef(m.Source)
	if err != nil {
		return err
	}
	from, to, err := migrate.ResolveDirection(ref, "", dest)
	if err != nil {
		return err
	}
	if from.Type == "" {
		from.Type, to.Type = hubkit.Model, hubkit.Model
	}
	var src, dst migrate.Hub = hf, ms
	if from.Hub == migrate.ModelScope {
		src, dst = ms, hf
	}
	tmp, err := os.MkdirTemp(parent, "diskcopy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	rev, err := src.Resolve(ctx, from, "")
	if err != nil {
		return fmt.Errorf("resolving the source: %w", err)
	}
	list, err := src.List(ctx, from, rev)
	if err != nil {
		return fmt.Errorf("listing the source: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(files)
	for _, f := range list {
		g.Go(func() error { return download(gctx, src, from, rev, f, tmp) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	downloaded := time.Since(start)

	mg, err := migrate.New(diskHub{Hub: src, dir: tmp}, dst, from, to,
		migrate.WithOptions(migrate.Options{Revision: rev, Files: files}))
	if err != nil {
		return err
	}
	rep, err := mg.Run(ctx)
	if err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"files": rep.FilesCopied, "bytes": rep.BytesCopied,
		"download_seconds": downloaded.Seconds(), "seconds": time.Since(start).Seconds(),
	})
}

// download writes one file of the source into dir.
func download(ctx context.Context, src migrate.Hub, repo migrate.Repo, rev string, f migrate.File, dir string) error {
	p := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	rc, err := src.Open(ctx, repo, rev, f.Path, 0, -1)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", f.Path, err)
	}
	defer rc.Close()
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("downloading %s: %w", f.Path, err)
	}
	return out.Close()
}

// diskHub is the source hub with its file reads served from the downloaded copy.
type diskHub struct {
	migrate.Hub
	dir string
}

// Open reads the downloaded file instead of the hub.
func (d diskHub) Open(_ context.Context, _ migrate.Repo, _, path string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(d.dir, filepath.FromSlash(path)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, hubkit.ErrNotFound)
		}
		return nil, err
	}
	if n < 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		n = st.Size() - off
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}
