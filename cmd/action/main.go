// Command action is the entry point of the hf2ms GitHub Action (`uses: linaqruf/hf2ms@v1`): it
// reads the action's inputs, migrates the repository (or the batch) with pkg/migrate, and writes
// the outputs, a job summary with the verification table, and rolled-up annotations.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/linaqruf/hf2ms/internal/app"
	gha "github.com/sethvargo/go-githubactions"
)

func main() {
	app.SetDefaultMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(mainCode(ctx, gha.New(), os.Getenv, os.Stdout))
}

// mainCode runs the action and turns the outcome into the exit code the runner reads; a panic is
// reported as an internal error without leaking anything it carried.
func mainCode(ctx context.Context, a *gha.Action, getenv func(string) string, log io.Writer) (code int) {
	r := &runner{a: a, getenv: getenv, log: log}
	defer func() {
		if p := recover(); p != nil {
			a.Errorf("hf2ms: internal error: %s", r.redact(fmt.Sprint(p)))
			code = 70
		}
	}()
	if err := r.run(ctx); err != nil {
		return 1
	}
	return 0
}
