package modal

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// HelloResult is what Hello measured.
type HelloResult struct {
	Image    string `json:"image"`
	Output   string `json:"output"`    // what `hf2ms version` printed
	ExitCode int    `json:"exit_code"` // 0 on success
	// ColdStart is the time from the create request to the first byte of output.
	ColdStart time.Duration `json:"cold_start"`
	// Total is the time from the create request to the sandbox's exit.
	Total time.Duration `json:"total"`
}

// Hello starts one sandbox with the worker image running `hf2ms version`, and reports what it
// printed and how long the cold start took. It fails when the sandbox exits non-zero.
func (e *Executor) Hello(ctx context.Context) (*HelloResult, error) {
	t0 := time.Now()
	h, err := e.backend.Start(ctx, Spec{
		Tags:      map[string]string{"hf2ms-hello": "1"},
		Command:   []string{e.entrypoint, "version"},
		Env:       map[string]string{},
		CPU:       0.25,
		MemoryMiB: 256,
		Timeout:   10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("hello: %w", err)
	}
	res := &HelloResult{Image: e.image}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var buf strings.Builder
	readDone := make(chan struct{})
	if out, err := e.backend.Output(rctx, h); err == nil {
		go func() {
			defer close(readDone)
			defer out.Close()
			b := make([]byte, 4096)
			for {
				n, err := out.Read(b)
				if n > 0 {
					if buf.Len() == 0 {
						res.ColdStart = time.Since(t0)
					}
					if buf.Len() < 64<<10 {
						buf.Write(b[:n])
					}
				}
				if err != nil {
					return
				}
			}
		}()
	} else {
		close(readDone)
	}
	code, err := e.backend.Wait(ctx, h)
	if err != nil {
		e.terminate(ctx, h)
		return nil, fmt.Errorf("hello: %w", err)
	}
	res.Total = time.Since(t0)
	select {
	case <-readDone:
	case <-time.After(e.drain):
		cancel()
		<-readDone
	}
	res.Output = strings.TrimSpace(buf.String())
	if res.ColdStart == 0 {
		res.ColdStart = res.Total
	}
	res.ExitCode = code
	if code != 0 {
		return res, fmt.Errorf("hello: %s exited with code %d: %s", e.image, code, firstLine(res.Output))
	}
	return res, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
