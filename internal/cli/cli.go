// Package cli is the hf2ms command-line program: cobra commands and flags wired to the service
// layer (internal/app), and how results are printed. cmd/hf2ms is a thin main around it; tests
// run the whole program in-process with their own I/O and environment. It may import
// internal/app, internal/progress and the engine's types; the demo command also starts the test
// fakes (pkg/hub/hubtest, pkg/msclient/mstest), which nothing else of the program links.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/progress"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the migration failed or did not verify
	ExitUsage    = 2 // bad flags or arguments
	ExitPartial  = 3 // a multi-commit migration stopped between commits; re-run to finish
	ExitInternal = 70
)

// App is one invocation of the program.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Lookup reads the process environment (os.LookupEnv in production).
	Lookup func(string) (string, bool)
	// DotEnv is the .env file read after the environment ("" to skip).
	DotEnv string
	// Terminal enables the live progress display.
	Terminal bool
	// Executable is the program run by the subprocess executor ("" = this program).
	Executable string

	svc *app.Service
	// testHook, when set (tests only), runs before every command with the command's name; the
	// secrets test uses it to panic mid-run and check that the top-level recovery stays redacted.
	testHook func(command string)
}

// Main runs the program with the process's arguments and I/O and returns its exit code.
func Main() int {
	a := &App{
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Lookup:   os.LookupEnv,
		DotEnv:   ".env",
		Terminal: isatty.IsTerminal(os.Stderr.Fd()),
	}
	app.SetDefaultMemoryLimit()
	ctx, stop := signalContext(context.Background())
	defer stop()
	return a.Run(ctx, os.Args[1:])
}

// exitError carries an exit code chosen by a command that already printed its outcome.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run executes args and returns the exit code. It never panics: a panic is reported (redacted)
// as an internal error.
func (a *App) Run(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(a.Stderr, "hf2ms: internal error: %s\n", a.redact(fmt.Sprint(r)))
			if a.lookup("HF2MS_DEBUG") != "" {
				fmt.Fprintln(a.Stderr, a.redact(string(debug.Stack())))
			}
			code = ExitInternal
		}
	}()
	if a.Lookup == nil {
		a.Lookup = func(string) (string, bool) { return "", false }
	}
	if a.Stdin == nil {
		a.Stdin = eofReader{}
	}
	env, err := app.NewEnv(a.Lookup, a.DotEnv)
	if err != nil {
		fmt.Fprintf(a.Stderr, "hf2ms: %s\n", redact.Shapes(err.Error()))
		return ExitUsage
	}
	a.svc = app.New(env)
	a.svc.Executable = a.Executable

	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(a.Stderr, "hf2ms: %s\n", a.redact(err.Error()))
	if app.IsUsage(err) {
		return ExitUsage
	}
	if errors.Is(err, migrate.ErrPartial) {
		return ExitPartial
	}
	return ExitFailure
}

// redact removes the program's secrets (once configured) and credential shapes from s.
func (a *App) redact(s string) string {
	if a.svc == nil {
		return redact.Shapes(s)
	}
	return a.svc.Redact(s)
}

// newProgress is the progress display on stderr.
func (a *App) newProgress() *progress.Progress { return progress.New(a.Stderr, a.Terminal, a.redact) }

func (a *App) lookup(k string) string {
	if a.Lookup == nil {
		return ""
	}
	v, _ := a.Lookup(k)
	return v
}

func (a *App) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hf2ms",
		Short: "Move model and dataset repos between Hugging Face and ModelScope, streaming hub to hub",
		Long: `hf2ms migrates repositories between the Hugging Face Hub and ModelScope (both directions,
and HF->HF, MS->MS) without holding the files: bytes stream from one hub into the other.

Tokens come from the environment (or a .env file): HF_TOKEN, MODELSCOPE_TOKEN,
MODAL_TOKEN_ID/MODAL_TOKEN_SECRET. MODELSCOPE_DOMAIN selects modelscope.cn (default) or
modelscope.ai; HF_ENDPOINT and MODELSCOPE_ENDPOINT override the base URLs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return app.UsageError{Err: err} })
	if a.testHook != nil {
		root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { a.testHook(cmd.Name()) }
	}
	root.AddCommand(
		a.migrateCommand(),
		a.planCommand(),
		a.batchCommand(),
		a.verifyCommand(),
		a.validateCommand(),
		a.workerCommand(),
		a.mcpCommand(),
		a.demoCommand(),
		a.versionCommand(),
	)
	root.AddCommand(a.modalCommands()...)
	return root
}

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the hf2ms version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.Stdout, "hf2ms %s (%s %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
