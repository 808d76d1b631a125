// Command rawcopy measures the limit bench/run.sh compares hf2ms against: every file of the
// seeded source repo is fetched with a plain GET from the source fake (through its real download
// route and CDN redirect) and streamed, untouched, into a PUT to the fakes' sink, with the same
// number of files in flight as hf2ms. No hashing, no planning, no commit: the same byte volume
// over the same loopback, through the same two kinds of server work (serving synthetic content,
// hashing what arrives).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/bench/internal/manifest"
	"github.com/linaqruf/hf2ms/internal/httpx"
)

func main() {
	path := flag.String("manifest", "", "manifest written by fakehubs")
	files := flag.Int("files", 4, "files in flight")
	flag.Parse()
	m, err := manifest.Read(*path)
	if err != nil {
		log.Fatal(err)
	}
	hc := &http.Client{
		Transport: httpx.DefaultTransport(),
		// The source's CDN host refuses credentials; a plain client must drop them on redirect.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			req.Header.Del("Authorization")
			return nil
		},
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(*files)
	for i, f := range m.Files {
		g.Go(func() error { return copyOne(ctx, hc, m, i, f) })
	}
	if err := g.Wait(); err != nil {
		log.Fatalf("rawcopy: %v", err)
	}
	secs := time.Since(start).Seconds()
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"files": len(m.Files), "bytes": m.Bytes, "seconds": secs})
}

func copyOne(ctx context.Context, hc *http.Client, m *manifest.Manifest, i int, f manifest.File) error {
	get, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return err
	}
	get.Header.Set("Authorization", "Bearer "+m.SrcToken)
	resp, err := hc.Do(get)
	if err != nil {
		return fmt.Errorf("GET %s: %w", f.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", f.Path, resp.Status)
	}
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, m.Sink+"/"+strconv.Itoa(i), resp.Body)
	if err != nil {
		return err
	}
	put.ContentLength = f.Size
	pr, err := hc.Do(put)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", f.Path, err)
	}
	_, _ = io.Copy(io.Discard, pr.Body)
	pr.Body.Close()
	if pr.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %s", f.Path, pr.Status)
	}
	return nil
}
