package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/mcpserver"
	"github.com/linaqruf/hf2ms/internal/redact"
)

// pluginDir is the coding-agent plugin shipped with the repository.
const pluginDir = "../../plugin"

// shown is one thing a document shows: a command line or an MCP tool call.
type shown struct {
	where string // file:line
	text  string
}

// docText is what one plugin document shows.
type docText struct {
	commands  []shown           // hf2ms command lines (code blocks and inline code)
	toolCalls []shown           // JSON objects {"name": ..., "arguments": {...}}
	servers   []shown           // JSON objects {"mcpServers": ...}
	front     map[string]string // YAML front matter
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

// parseDoc reads a Markdown document: its front matter, the hf2ms command lines of its shell
// code blocks and inline code, and the JSON objects of its json code blocks.
func parseDoc(t *testing.T, path string) docText {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(b)
	var d docText
	if strings.HasPrefix(text, "---\n") {
		end := strings.Index(text[4:], "\n---\n")
		require.GreaterOrEqual(t, end, 0, "%s: unterminated front matter", path)
		require.NoError(t, yaml.Unmarshal([]byte(text[4:4+end]), &d.front), "%s: front matter", path)
	}
	var fence, lang string
	var block []string
	blockStart, cont := 0, ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		where := fmt.Sprintf("%s:%d", filepath.Base(path), n)
		if strings.HasPrefix(trimmed, "```") {
			if fence == "" {
				fence, lang, block, blockStart = "```", strings.TrimPrefix(trimmed, "```"), nil, n
				continue
			}
			if lang == "json" {
				d.addJSON(t, fmt.Sprintf("%s:%d", filepath.Base(path), blockStart), strings.Join(block, "\n"))
			}
			fence = ""
			continue
		}
		if fence != "" {
			block = append(block, line)
			if lang == "json" {
				continue
			}
			trimmed = strings.TrimPrefix(trimmed, "$ ")
			if strings.HasSuffix(trimmed, "\\") {
				cont += strings.TrimSuffix(trimmed, "\\") + " "
				continue
			}
			trimmed, cont = cont+trimmed, ""
			if isHF2MS(trimmed) {
				d.commands = append(d.commands, shown{where, trimmed})
			}
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
			if isHF2MS(m[1]) {
				d.commands = append(d.commands, shown{where, m[1]})
			}
		}
	}
	require.Empty(t, fence, "%s: unterminated code block at line %d", path, blockStart)
	return d
}

func (d *docText) addJSON(t *testing.T, where, text string) {
	t.Helper()
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &obj), "%s: a json block that is not a JSON object", where)
	switch {
	case obj["mcpServers"] != nil:
		d.servers = append(d.servers, shown{where, text})
	case obj["name"] != nil:
		d.toolCalls = append(d.toolCalls, shown{where, text})
	}
}

// isHF2MS reports whether a shell line runs an hf2ms subcommand (after any VAR=value
// assignments); the program's bare name, as prose uses it, is none.
func isHF2MS(line string) bool {
	words := shellWords(line)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		words = words[1:]
	}
	return len(words) > 1 && words[0] == "hf2ms"
}

// shellWords splits a shell line into words (quotes honoured) up to the first pipe, list
// operator, redirection or comment.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case (r == '#' && !inWord) || r == '|' || r == ';' || r == '&' || r == '>' || r == '<':
			flush()
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}

// checkCommand parses line against a fresh command tree: the subcommand must exist, every flag
// must be one of its flags (with a valid value), and the positional arguments must fit.
func checkCommand(line string) error {
	words := shellWords(line)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "hf2ms" {
		return fmt.Errorf("not an hf2ms command")
	}
	root := (&App{}).rootCommand()
	cmd, rest, err := root.Find(words[1:])
	if err != nil {
		return err
	}
	if cmd == root {
		return fmt.Errorf("no subcommand")
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	return nil
}

func TestCheckCommandCatchesDrift(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{"hf2ms plan hf:a/b --to ms --dest a/b", true},
		{"hf2ms migrate SRC --parallel --chunk-size 20GiB --executor modal --detach", true},
		{"hf2ms status RUN_ID --json | jq .status", true},
		{"HF_TOKEN=x hf2ms validate --modal # comment", true},
		{"hf2ms plan hf:a/b --no-such-flag", false},
		{"hf2ms nosuch hf:a/b", false},
		{"hf2ms status", false},
		{"hf2ms verify a b c", false},
		{"hf2ms migrate SRC --workers many", false},
		{"hf2ms", false},
	} {
		err := checkCommand(c.line)
		if c.ok {
			require.NoError(t, err, c.line)
		} else {
			require.Error(t, err, c.line)
		}
	}
}

// toolSchemas lists the MCP server's tools and their argument names, through the SDK's client.
func toolSchemas(t *testing.T) map[string]map[string]bool {
	t.Helper()
	env, err := app.NewEnv(func(string) (string, bool) { return "", false }, "")
	require.NoError(t, err)
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := mcpserver.New(app.New(env)).Connect(ctx, st, nil)
	require.NoError(t, err)
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "plugin-test", Version: "v0"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	out := map[string]map[string]bool{}
	for _, tool := range res.Tools {
		props := map[string]bool{}
		schema, _ := tool.InputSchema.(map[string]any)
		p, _ := schema["properties"].(map[string]any)
		for k := range p {
			props[k] = true
		}
		out[tool.Name] = props
	}
	return out
}

// TestPluginTextMatchesTheProgram checks every command line, MCP tool call and MCP server
// configuration the plugin shows against the real command tree and tool schemas, so the text
// cannot drift from the code.
func TestPluginTextMatchesTheProgram(t *testing.T) {
	t.Parallel()
	var docs []string
	require.NoError(t, filepath.WalkDir(pluginDir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".md") {
			docs = append(docs, p)
		}
		return err
	}))
	require.NotEmpty(t, docs)
	tools := toolSchemas(t)
	subcommands := map[string]bool{}
	var commands, calls int
	for _, p := range docs {
		d := parseDoc(t, p)
		rel, err := filepath.Rel(pluginDir, p)
		require.NoError(t, err)
		switch dir := filepath.Dir(rel); {
		case dir == "commands":
			require.NotEmpty(t, d.front["description"], "%s: a command needs a description", rel)
		case strings.HasPrefix(dir, "skills"+string(filepath.Separator)):
			require.Equal(t, "SKILL.md", filepath.Base(rel))
			require.Equal(t, filepath.Base(dir), d.front["name"], "%s: the skill's name is its folder's", rel)
			require.NotEmpty(t, d.front["description"], "%s: a skill needs a description", rel)
		}
		for _, c := range d.commands {
			require.NoError(t, checkCommand(c.text), "%s: %s", c.where, c.text)
			subcommands[shellWords(c.text)[1]] = true
			commands++
		}
		for _, c := range d.toolCalls {
			var call struct {
				Name      string         `json:"name"`
				Arguments map[string]any `json:"arguments"`
			}
			require.NoError(t, json.Unmarshal([]byte(c.text), &call), c.where)
			props, ok := tools[call.Name]
			require.True(t, ok, "%s: no MCP tool %q", c.where, call.Name)
			for k := range call.Arguments {
				require.True(t, props[k], "%s: the %s tool has no argument %q", c.where, call.Name, k)
			}
			calls++
		}
		for _, s := range d.servers {
			checkServers(t, s.where, []byte(s.text))
		}
	}
	for _, want := range []string{"validate", "plan", "migrate", "verify", "status", "wait"} {
		require.True(t, subcommands[want], "the plugin shows no `hf2ms %s`", want)
	}
	require.GreaterOrEqual(t, commands, 10)
	require.GreaterOrEqual(t, calls, 2)

	b, err := os.ReadFile(filepath.Join(pluginDir, ".mcp.json"))
	require.NoError(t, err)
	checkServers(t, ".mcp.json", b)
	var manifest map[string]any
	b, err = os.ReadFile(filepath.Join(pluginDir, ".claude-plugin", "plugin.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &manifest))
	require.Equal(t, "hf2ms", manifest["name"])
}

// checkServers checks an mcpServers configuration: every hf2ms server runs a valid command
// line, and no configuration carries a literal token.
func checkServers(t *testing.T, where string, b []byte) {
	t.Helper()
	var cfg struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	require.NoError(t, json.Unmarshal(b, &cfg), where)
	require.NotEmpty(t, cfg.MCPServers, where)
	for name, s := range cfg.MCPServers {
		if filepath.Base(s.Command) != "hf2ms" {
			continue
		}
		line := "hf2ms " + strings.Join(s.Args, " ")
		require.NoError(t, checkCommand(line), "%s: server %s runs %q", where, name, line)
		require.Equal(t, []string{"mcp"}, s.Args, "%s: server %s", where, name)
		for k, v := range s.Env {
			require.Equal(t, v, redact.Shapes(v), "%s: server %s: %s holds what looks like a real token", where, name, k)
		}
	}
}

// TestREADMECommandsExist checks the README's hf2ms command lines and MCP configurations the
// same way.
func TestREADMECommandsExist(t *testing.T) {
	t.Parallel()
	d := parseDoc(t, "../../README.md")
	require.NotEmpty(t, d.commands)
	for _, c := range d.commands {
		require.NoError(t, checkCommand(c.text), "%s: %s", c.where, c.text)
	}
	require.NotEmpty(t, d.servers, "the README shows an MCP client configuration")
	for _, s := range d.servers {
		checkServers(t, s.where, []byte(s.text))
	}
}
