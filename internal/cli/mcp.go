package cli

import (
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/mcpserver"
)

func (a *App) mcpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve hf2ms to an AI agent: a Model Context Protocol server on stdin/stdout",
		Long: `hf2ms mcp is a Model Context Protocol server speaking JSON-RPC on stdin and stdout, for
MCP clients (Claude Desktop, Claude Code, editors, agent frameworks). Its tools: plan,
migrate, verify, status and validate. migrate runs only with confirm: true and the plan_id
of a plan made with the same arguments, and refuses when the source or destination changed
since. Tokens come from the environment (or .env) only, as for every other command; no tool
takes one, and none shows up in a result.`,
		Example: `  {"mcpServers": {"hf2ms": {"command": "hf2ms", "args": ["mcp"],
    "env": {"HF_TOKEN": "hf_...", "MODELSCOPE_TOKEN": "ms-..."}}}}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := &mcp.IOTransport{Reader: io.NopCloser(a.Stdin), Writer: nopWriteCloser{a.Stdout}}
			return mcpserver.Serve(cmd.Context(), a.svc, t)
		},
	}
}

// nopWriteCloser keeps the server from closing the program's stdout.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
