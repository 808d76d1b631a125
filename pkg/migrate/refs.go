package migrate

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// AcceptedRefForms lists the repository reference forms ParseRef accepts; error messages show it.
const AcceptedRefForms = "ns/name, hf:ns/name, ms:ns/name (also huggingface: and modelscope:), " +
	"hf:datasets/ns/name, ms:datasets/ns/name, hf:spaces/ns/name, any of these with @<rev>, " +
	"https://huggingface.co/[datasets/|spaces/]ns/name[/tree/<rev>], https://hf.co/..., " +
	"https://modelscope.cn/models/ns/name, https://www.modelscope.cn/datasets/ns/name, https://modelscope.ai/models/ns/name"

// MaxNameLength is the longest namespace or repository name accepted (Hugging Face's limit,
// huggingface_hub validate_repo_id; ModelScope is given the same bound).
const MaxNameLength = 96

// Ref is a repository reference as a user wrote it: on the command line, in an Action input or
// in a batch file. Fields the user did not give are empty.
type Ref struct {
	// Hub is the hub the reference names; "" when not given (a bare "ns/name").
	Hub HubName `json:"hub,omitempty"`
	// Type is the repository type; "" when not given (to be detected).
	Type hubkit.RepoType `json:"type,omitempty"`
	// ID is "namespace/name".
	ID string `json:"id"`
	// Revision comes from a web URL's /tree/<rev> (or /commit/<sha>) tail; "" otherwise.
	Revision string `json:"revision,omitempty"`
}

// String renders the reference in the prefix form ParseRef accepts ("hf:datasets/ns/name@rev"), so
// that ParseRef(r.String()) == r.
func (r Ref) String() string {
	var b strings.Builder
	if r.Hub != "" {
		b.WriteString(string(r.Hub))
		b.WriteByte(':')
	}
	switch r.Type {
	case hubkit.Dataset:
		b.WriteString("datasets/")
	case hubkit.Space:
		b.WriteString("spaces/")
	case hubkit.Model:
		b.WriteString("models/")
	}
	b.WriteString(r.ID)
	if r.Revision != "" {
		b.WriteByte('@')
		b.WriteString(r.Revision)
	}
	return b.String()
}

// hubPrefixes maps the case-insensitive prefixes of "prefix:ns/name" to hubs.
var hubPrefixes = map[string]HubName{
	"hf":          HuggingFace,
	"huggingface": HuggingFace,
	"ms":          ModelScope,
	"modelscope":  ModelScope,
}

// hubAlias maps a --to value (or a prefix) to a hub; ok is false for unknown names.
func hubAlias(s string) (HubName, bool) {
	h, ok := hubPrefixes[strings.ToLower(strings.TrimSpace(s))]
	return h, ok
}

// webHosts maps the web hosts of both hubs to their hub.
var webHosts = map[string]HubName{
	"huggingface.co":     HuggingFace,
	"www.huggingface.co": HuggingFace,
	"hf.co":              HuggingFace,
	"modelscope.cn":      ModelScope,
	"www.modelscope.cn":  ModelScope,
	"modelscope.ai":      ModelScope,
	"www.modelscope.ai":  ModelScope,
}

// msPageTails are ModelScope web-page tails after /models|datasets/ns/name that name a tab of the
// repository page rather than something inside it.
var msPageTails = map[string]bool{
	"summary": true, "files": true, "feedback": true, "quickstart": true,
	"dataPeview": true, "dataPreview": true, "picture": true, "discussion": true,
}

// hfPageTails are Hugging Face web-page tails after [type/]ns/name that name a tab of the
// repository page.
var hfPageTails = map[string]bool{
	"discussions": true, "community": true, "settings": true, "viewer": true,
}

type refError struct {
	input  string
	reason string
}

func (e *refError) Error() string {
	in := e.input
	if in != "" {
		in = fmt.Sprintf("%q: ", in)
	}
	return fmt.Sprintf("%s: %s%s (accepted forms: %s)", ErrInvalidRef, in, e.reason, AcceptedRefForms)
}

func (e *refError) Unwrap() error { return ErrInvalidRef }

func invalidRef(input, format string, args ...any) error {
	return &refError{input: input, reason: fmt.Sprintf(format, args...)}
}

// ParseRef parses a repository reference: "ns/name"; a hub prefix ("hf:", "ms:", "huggingface:",
// "modelscope:", case-insensitive) with an optional type segment ("hf:datasets/ns/name",
// "ms:datasets/ns/name", "hf:spaces/ns/name", "hf:models/ns/name") and an optional "@<rev>" tail
// (the form Ref.String renders a URL's revision in); or a web URL of either hub
// (https://huggingface.co/ns/name, https://hf.co/datasets/ns/name, .../tree/<rev>,
// https://modelscope.cn/models/ns/name/summary, https://www.modelscope.ai/datasets/ns/name/files).
// A URL tail that points inside the repository (a file or folder) is rejected, since a reference
// names a whole repository. Errors wrap ErrInvalidRef and list the accepted forms.
func ParseRef(s string) (Ref, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Ref{}, invalidRef("", "empty repository reference")
	}
	if strings.ContainsAny(in, " \t\r\n\x00") {
		return Ref{}, invalidRef(redactRef(in), "whitespace or control characters are not allowed")
	}
	lower := strings.ToLower(in)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return parseURLRef(in)
	}
	if i := strings.IndexByte(in, '/'); i > 0 {
		if _, ok := webHosts[strings.ToLower(in[:i])]; ok {
			return parseURLRef("https://" + in)
		}
	}
	var r Ref
	rest := in
	if i := strings.IndexByte(in, ':'); i >= 0 {
		h, ok := hubAlias(in[:i])
		if !ok {
			return Ref{}, invalidRef(redactRef(in), "unknown hub prefix %q (use hf: or ms:)", in[:i])
		}
		r.Hub = h
		rest = in[i+1:]
	}
	if id, rev, ok := strings.Cut(rest, "@"); ok {
		if rev == "" {
			return Ref{}, invalidRef(in, "empty revision after '@'")
		}
		if err := validateRevision(rev); err != nil {
			return Ref{}, invalidRef(in, "%s", err)
		}
		r.Revision, rest = rev, id
	}
	segs := strings.Split(rest, "/")
	if len(segs) == 3 {
		switch segs[0] {
		case "models":
			r.Type = hubkit.Model
		case "datasets":
			r.Type = hubkit.Dataset
		case "spaces":
			r.Type = hubkit.Space
		default:
			return Ref{}, invalidRef(in, "%q is not a repository type (models, datasets, spaces)", segs[0])
		}
		segs = segs[1:]
	}
	if len(segs) != 2 {
		return Ref{}, invalidRef(in, "expected namespace/name")
	}
	if r.Type == hubkit.Space && r.Hub == ModelScope {
		return Ref{}, invalidRef(in, "ModelScope has no Spaces (its Studios have no API)")
	}
	r.ID = segs[0] + "/" + segs[1]
	if err := validateID(r.Hub, r.ID); err != nil {
		return Ref{}, invalidRef(in, "%s", err)
	}
	return r, nil
}

// redactRef hides credentials a URL-like reference might carry, so errors never show them.
func redactRef(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			return s[:i+3] + "***@" + rest[at+1:]
		}
	}
	return s
}

func parseURLRef(in string) (Ref, error) {
	shown := redactRef(in)
	u, err := url.Parse(in)
	if err != nil {
		return Ref{}, invalidRef(shown, "not a valid URL")
	}
	if u.User != nil {
		return Ref{}, invalidRef(shown, "URLs with credentials are not accepted; pass tokens through HF_TOKEN / MODELSCOPE_TOKEN")
	}
	hub, ok := webHosts[strings.ToLower(u.Hostname())]
	if !ok {
		return Ref{}, invalidRef(shown, "%q is not a Hugging Face or ModelScope host", u.Hostname())
	}
	// Split the escaped path so an encoded revision ("refs%2Fpr%2F1") stays one segment.
	var segs []string
	for _, p := range strings.Split(u.EscapedPath(), "/") {
		if p == "" {
			continue
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			return Ref{}, invalidRef(shown, "bad escape in URL path")
		}
		segs = append(segs, d)
	}
	if hub == HuggingFace {
		return parseHFURL(shown, segs)
	}
	return parseMSURL(shown, segs)
}

func parseHFURL(in string, segs []string) (Ref, error) {
	r := Ref{Hub: HuggingFace, Type: hubkit.Model}
	if len(segs) > 0 {
		switch segs[0] {
		case "datasets":
			r.Type, segs = hubkit.Dataset, segs[1:]
		case "spaces":
			r.Type, segs = hubkit.Space, segs[1:]
		case "models":
			segs = segs[1:]
		case "api":
			return Ref{}, invalidRef(in, "an API URL is not a repository page")
		}
	}
	tail, err := urlRepoID(in, &r, segs)
	if err != nil {
		return Ref{}, err
	}
	switch {
	case len(tail) == 0:
	case hfPageTails[tail[0]]:
	case (tail[0] == "tree" || tail[0] == "commit" || tail[0] == "commits") && len(tail) == 2:
		r.Revision = tail[1]
	case tail[0] == "tree" && len(tail) == 4 && tail[1] == "refs" && (tail[2] == "pr" || tail[2] == "convert"):
		r.Revision = strings.Join(tail[1:], "/")
	case tail[0] == "tree" || tail[0] == "blob" || tail[0] == "resolve" || tail[0] == "raw" || tail[0] == "edit":
		return Ref{}, invalidRef(in, "the URL points inside the repository; use the repository URL (with /tree/<rev> for a revision) and --include for a subset")
	default:
		return Ref{}, invalidRef(in, "unrecognised URL tail %q", "/"+strings.Join(tail, "/"))
	}
	return checkedURLRef(in, r)
}

func parseMSURL(in string, segs []string) (Ref, error) {
	r := Ref{Hub: ModelScope}
	switch {
	case len(segs) > 0 && segs[0] == "models":
		r.Type, segs = hubkit.Model, segs[1:]
	case len(segs) > 0 && segs[0] == "datasets":
		r.Type, segs = hubkit.Dataset, segs[1:]
	case len(segs) > 0 && (segs[0] == "studios" || segs[0] == "spaces"):
		return Ref{}, invalidRef(in, "ModelScope Studios cannot be migrated (no API)")
	case len(segs) == 2 && strings.HasSuffix(segs[1], ".git"):
		r.Type = hubkit.Model // the old git clone URL: https://www.modelscope.cn/ns/name.git
	default:
		return Ref{}, invalidRef(in, "expected /models/ns/name or /datasets/ns/name in the URL path")
	}
	tail, err := urlRepoID(in, &r, segs)
	if err != nil {
		return Ref{}, err
	}
	switch {
	case len(tail) == 0:
	case len(tail) == 1 && msPageTails[tail[0]]:
	case tail[0] == "file" || tail[0] == "files" || tail[0] == "resolve" || tail[0] == "tree":
		return Ref{}, invalidRef(in, "the URL points inside the repository; use the repository URL and --include for a subset")
	default:
		return Ref{}, invalidRef(in, "unrecognised URL tail %q", "/"+strings.Join(tail, "/"))
	}
	return checkedURLRef(in, r)
}

// urlRepoID sets r.ID from the namespace and name at the start of a URL's path segments (a
// ".git" suffix dropped) and returns the segments after them.
func urlRepoID(in string, r *Ref, segs []string) ([]string, error) {
	if len(segs) < 2 {
		return nil, invalidRef(in, "expected namespace/name in the URL path")
	}
	r.ID = segs[0] + "/" + strings.TrimSuffix(segs[1], ".git")
	return segs[2:], nil
}

// checkedURLRef returns r parsed from URL in once its id and revision are valid on its hub.
func checkedURLRef(in string, r Ref) (Ref, error) {
	if err := validateID(r.Hub, r.ID); err != nil {
		return Ref{}, invalidRef(in, "%s", err)
	}
	if err := validateRevision(r.Revision); err != nil {
		return Ref{}, invalidRef(in, "%s", err)
	}
	return r, nil
}

// validateRevision rejects revisions that could not be a git ref or commit.
func validateRevision(rev string) error {
	if rev == "" {
		return nil
	}
	if strings.Contains(rev, "..") || strings.ContainsAny(rev, " \t\r\n\x00~^:?*[\\") ||
		strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") || strings.HasPrefix(rev, "-") {
		return fmt.Errorf("revision %q is not a valid branch, tag or commit", rev)
	}
	return nil
}

// ValidateID checks that id is "namespace/name" as hub accepts it ("" = rules common to both
// hubs). Hugging Face names are letters, digits, '-', '_' and '.', without "--" or "..", not
// starting or ending with '-' or '.', at most MaxNameLength characters; ModelScope's rules are the
// same except that "--" is allowed.
func ValidateID(hub HubName, id string) error {
	if err := validateID(hub, id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	return nil
}

func validateID(hub HubName, id string) error {
	segs := strings.Split(id, "/")
	if len(segs) != 2 {
		return fmt.Errorf("repository id %q must be namespace/name", id)
	}
	for i, s := range segs {
		what := "namespace"
		if i == 1 {
			what = "name"
		}
		if err := validateName(hub, s); err != nil {
			return fmt.Errorf("%s %q %w", what, s, err)
		}
	}
	return nil
}

func validateName(hub HubName, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("is empty")
	case len(s) > MaxNameLength:
		return fmt.Errorf("is longer than %d characters", MaxNameLength)
	case strings.Contains(s, ".."):
		return fmt.Errorf("contains \"..\"")
	case hub == HuggingFace && strings.Contains(s, "--"):
		return fmt.Errorf("contains \"--\" (not allowed on Hugging Face)")
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "."):
		return fmt.Errorf("starts with '-' or '.'")
	case strings.HasSuffix(s, "-") || strings.HasSuffix(s, "."):
		return fmt.Errorf("ends with '-' or '.'")
	case hub == HuggingFace && strings.HasSuffix(s, ".git"):
		return fmt.Errorf("ends with \".git\"")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("contains %q (only letters, digits, '-', '_' and '.' are allowed)", c)
		}
	}
	return nil
}

// otherHub is the hub a migration goes to when nothing says otherwise.
func otherHub(h HubName) HubName {
	if h == ModelScope {
		return HuggingFace
	}
	return ModelScope
}

// ResolveDirection turns the user's source reference, --to value ("hf", "ms", their long names,
// or "") and --dest value ("" or any ParseRef form) into the source and destination repos.
//
// The destination hub comes from --to, else from dest's prefix or URL, else it is the hub other
// than the source's. The source hub comes from src's prefix or URL, else it is the hub other than
// the destination's (when --to or dest names one), else Hugging Face (hf2ms's default direction,
// HF to ModelScope). The destination id defaults to the source id; the repository type is carried
// over (and may still be "" for DetectType to fill in). Errors wrap ErrInvalidRef, or
// ErrUnsupported for a hubkit.Space going to ModelScope.
func ResolveDirection(src Ref, to string, dest string) (from, target Repo, err error) {
	var toHub HubName
	if strings.TrimSpace(to) != "" {
		h, ok := hubAlias(to)
		if !ok {
			return Repo{}, Repo{}, fmt.Errorf("%w: --to %q: expected hf or ms", ErrInvalidRef, to)
		}
		toHub = h
	}
	var d Ref
	if strings.TrimSpace(dest) != "" {
		d, err = ParseRef(dest)
		if err != nil {
			return Repo{}, Repo{}, fmt.Errorf("destination: %w", err)
		}
		if d.Revision != "" {
			return Repo{}, Repo{}, fmt.Errorf("%w: destination %q names a revision; migrations write the default branch", ErrInvalidRef, dest)
		}
		if toHub != "" && d.Hub != "" && d.Hub != toHub {
			return Repo{}, Repo{}, fmt.Errorf("%w: --to %s contradicts destination %q", ErrInvalidRef, toHub, dest)
		}
		if toHub == "" {
			toHub = d.Hub
		}
	}
	fromHub := src.Hub
	switch {
	case fromHub == "" && toHub == "":
		fromHub, toHub = HuggingFace, ModelScope
	case fromHub == "":
		fromHub = otherHub(toHub)
	case toHub == "":
		toHub = otherHub(fromHub)
	}
	typ := src.Type
	if d.Type != "" && typ != "" && d.Type != typ {
		return Repo{}, Repo{}, fmt.Errorf("%w: source is a %s but destination %q is a %s", ErrInvalidRef, typ, dest, d.Type)
	}
	if typ == "" {
		typ = d.Type
	}
	id := src.ID
	if d.ID != "" {
		id = d.ID
	}
	from = Repo{Hub: fromHub, Type: typ, ID: src.ID}
	target = Repo{Hub: toHub, Type: typ, ID: id}
	if err := validateID(fromHub, from.ID); err != nil {
		return Repo{}, Repo{}, fmt.Errorf("%w: source: %w", ErrInvalidRef, err)
	}
	if err := validateID(toHub, target.ID); err != nil {
		return Repo{}, Repo{}, fmt.Errorf("%w: destination on %s: %w (pick another name with --dest)", ErrInvalidRef, toHub, err)
	}
	if typ == hubkit.Space && toHub == ModelScope {
		return Repo{}, Repo{}, fmt.Errorf("%w: %s is a hubkit.Space; ModelScope has no API for Studios", ErrUnsupported, from)
	}
	if from.Hub == target.Hub && from.ID == target.ID {
		return Repo{}, Repo{}, fmt.Errorf("%w: source and destination are the same repository (%s); pass --dest or --to", ErrInvalidRef, from)
	}
	return from, target, nil
}
