// Command xetpeer is hf2ms's side of the Xet conformance check in conformance/hfjs: run.mjs
// calls it to read files the official JS client wrote (through pkg/hub's native Xet reader) and
// to write files the JS client then reads (through pkg/hub's Xet writer), and to chunk and hash
// files with pkg/xet so the JS reference chunker can check the Go one.
//
//	xetpeer read  -endpoint URL -token T -repo ns/name -type model PATH...  (one JSON line per file)
//	xetpeer write -endpoint URL -token T -repo ns/name -type model PATH=FILE...
//	xetpeer hash  FILE...                                                    (one JSON line per file)
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/xet"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: xetpeer read|write|hash [flags] args"))
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	endpoint := fs.String("endpoint", "", "Hub endpoint")
	token := fs.String("token", "", "Hub token")
	repoID := fs.String("repo", "", "repo id")
	typ := fs.String("type", "model", "repo type")
	_ = fs.Parse(os.Args[2:])
	c := hub.NewClient(hub.WithEndpoint(*endpoint), hub.WithToken(*token))
	repo := hubkit.Repo{Type: hubkit.RepoType(*typ), ID: *repoID}
	out := json.NewEncoder(os.Stdout)
	var err error
	switch os.Args[1] {
	case "read":
		err = read(c, repo, fs.Args(), out)
	case "write":
		err = write(c, repo, fs.Args(), out)
	case "hash":
		err = hashFiles(fs.Args(), out)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "xetpeer:", err)
	os.Exit(1)
}

func read(c *hub.Client, repo hubkit.Repo, paths []string, out *json.Encoder) error {
	ctx := context.Background()
	for _, p := range paths {
		xh, _, isXet := c.XetFile(ctx, repo, "main", p)
		rc, err := c.Download(ctx, repo, "main", p, 0, -1)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if err := out.Encode(map[string]any{"path": p, "xet": isXet, "xetHash": xh, "size": n,
			"sha256": hex.EncodeToString(h.Sum(nil))}); err != nil {
			return err
		}
	}
	return nil
}

func write(c *hub.Client, repo hubkit.Repo, specs []string, out *json.Encoder) error {
	ctx := context.Background()
	var ops []hubkit.CommitOp
	for _, spec := range specs {
		p, file, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("want PATH=FILE, got %q", spec)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		obj := lfs.Object{OID: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		ups, err := c.PrepareLFSUpload(ctx, repo, "main", []lfs.Object{obj})
		if err != nil {
			return err
		}
		transfer, dedup := "none", int64(0)
		for _, u := range ups {
			if err := u.Upload(ctx, hubkit.Bytes(data)); err != nil {
				return err
			}
			transfer, dedup = u.Transfer(), u.Deduplicated()
		}
		ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpAddLFS, Path: p, SHA256: obj.OID, Size: obj.Size})
		if err := out.Encode(map[string]any{"path": p, "transfer": transfer, "deduplicated": dedup, "sha256": obj.OID}); err != nil {
			return err
		}
	}
	_, err := c.Commit(ctx, repo, "main", hub.CommitOptions{Summary: "hf2ms xet writer"}, ops)
	return err
}

func hashFiles(files []string, out *json.Encoder) error {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var chunks [][2]any
		var refs []xet.ChunkRef
		off := 0
		for _, n := range xet.ChunkAll(data) {
			h := xet.ChunkHash(data[off : off+n])
			chunks = append(chunks, [2]any{h.String(), n})
			refs = append(refs, xet.ChunkRef{Hash: h, Size: uint32(n)})
			off += n
		}
		if err := out.Encode(map[string]any{"file": f, "chunks": chunks, "xorbHash": xet.XorbHash(refs).String(),
			"fileHash": xet.FileHash(refs).String()}); err != nil {
			return err
		}
	}
	return nil
}
