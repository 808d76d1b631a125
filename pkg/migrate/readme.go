package migrate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// hfLicenses are the license ids the Hugging Face Hub accepts in a README's front matter
// (https://huggingface.co/docs/hub/repositories-licenses).
var hfLicenses = func() map[string]bool {
	ids := []string{
		"apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
		"bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
		"bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
		"cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
		"cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
		"cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
		"cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
		"epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl",
		"gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research",
		"lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0",
		"openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl",
		"lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2",
		"llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma",
		"unknown", "other",
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}()

// licenseNames maps licence display names (as ModelScope's cards, its create API and other
// hubs write them) to Hub ids, after normaliseLicense. Names that normalise to an id already
// ("Apache License 2.0" -> "apache-2.0", "MIT License" -> "mit", "CC BY-NC 4.0" ->
// "cc-by-nc-4.0") need no entry.
var licenseNames = map[string]string{
	"apache":                                 "apache-2.0",
	"apache-2":                               "apache-2.0",
	"gnu-general-public-3.0":                 "gpl-3.0",
	"gnu-general-public-2.0":                 "gpl-2.0",
	"gnu-lesser-general-public-2.1":          "lgpl-2.1",
	"gnu-lesser-general-public-3.0":          "lgpl-3.0",
	"gnu-affero-general-public-3.0":          "agpl-3.0",
	"gplv3":                                  "gpl-3.0",
	"gplv2":                                  "gpl-2.0",
	"mozilla-public-2.0":                     "mpl-2.0",
	"bsd-3":                                  "bsd-3-clause",
	"bsd-2":                                  "bsd-2-clause",
	"creative-commons-attribution-4.0":       "cc-by-4.0",
	"creative-commons-zero-1.0-universal":    "cc0-1.0",
	"cc0":                                    "cc0-1.0",
	"openrail-m":                             "openrail",
	"llama-2-community":                      "llama2",
	"llama-3-community":                      "llama3",
	"llama-3.1-community":                    "llama3.1",
	"llama-3.2-community":                    "llama3.2",
	"llama-3.3-community":                    "llama3.3",
	"gemma-terms-of-use":                     "gemma",
	"eclipse-public-2.0":                     "epl-2.0",
	"boost-software-1.0":                     "bsl-1.0",
	"the-unlicense":                          "unlicense",
	"creative-commons-attribution-sa-4.0":    "cc-by-sa-4.0",
	"creative-commons-attribution-nc-4.0":    "cc-by-nc-4.0",
	"academic-free-3.0":                      "afl-3.0",
	"open-software-3.0":                      "osl-3.0",
	"sil-open-font-1.1":                      "ofl-1.1",
	"do-what-the-f*ck-you-want-to-public":    "wtfpl",
	"creative-commons-attribution-nc-sa-4.0": "cc-by-nc-sa-4.0",
}

// normaliseLicense folds a display name towards a Hub id: lower case, the words "license",
// "licence" and "version" dropped, a "v" before a version number dropped, runs of spaces,
// underscores and dashes made one dash.
func normaliseLicense(v string) string {
	words := strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ' ' || r == '_' || r == '-' || r == ',' })
	kept := words[:0]
	for _, w := range words {
		switch w {
		case "license", "licence", "version", "the-license":
			continue
		}
		if len(w) > 1 && w[0] == 'v' && w[1] >= '0' && w[1] <= '9' {
			w = w[1:]
		}
		kept = append(kept, w)
	}
	return strings.Join(kept, "-")
}

// hfLicense maps a license value to one the Hub accepts: itself when valid, its Hub id when the
// value is a known display name or differs only in case or spelling, "other" otherwise.
func hfLicense(v string) string {
	if hfLicenses[v] {
		return v
	}
	if l := strings.ToLower(strings.TrimSpace(v)); hfLicenses[l] {
		return l
	}
	n := normaliseLicense(v)
	if hfLicenses[n] {
		return n
	}
	if id, ok := licenseNames[n]; ok {
		return id
	}
	return "other"
}

// FixReadmeLicense rewrites the license of a README's YAML front matter into one the Hugging
// Face Hub accepts (a display name such as "Apache License 2.0" → its id "apache-2.0"; wrong
// case → lower case; unknown → "other"; each item of a list alike). Only
// the license values change: the rest of the front matter and the body stay byte-identical
// (line endings included). A README without front matter or without a license is returned
// unchanged. The error reports front matter that is not valid YAML.
func FixReadmeLicense(readme []byte) (out []byte, changed bool, err error) {
	start, end, ok := frontMatter(readme)
	if !ok {
		return readme, false, nil
	}
	fm := readme[start:end]
	var doc yaml.Node
	if err := yaml.Unmarshal(fm, &doc); err != nil {
		return readme, false, fmt.Errorf("README front matter: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return readme, false, nil
	}
	root := doc.Content[0]
	var values []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "license" {
			continue
		}
		v := root.Content[i+1]
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag != "!!null" {
				values = append(values, v)
			}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				if item.Kind == yaml.ScalarNode && item.Tag != "!!null" {
					values = append(values, item)
				}
			}
		}
	}
	type edit struct {
		off, end int
		text     string
	}
	var edits []edit
	lines := lineOffsets(fm)
	for _, v := range values {
		want := hfLicense(v.Value)
		if want == v.Value {
			continue
		}
		off, end, quote, ok := scalarSpan(fm, lines, v)
		if !ok {
			return readme, false, fmt.Errorf("README front matter: cannot locate license value %q", v.Value)
		}
		edits = append(edits, edit{start + off, start + end, quote + want + quote})
	}
	if len(edits) == 0 {
		return readme, false, nil
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].off > edits[j].off })
	out = bytes.Clone(readme)
	for _, e := range edits {
		out = append(out[:e.off:e.off], append([]byte(e.text), out[e.end:]...)...)
	}
	return out, true, nil
}

// frontMatter finds the YAML between a leading "---" line and the next "---" or "..." line.
func frontMatter(b []byte) (start, end int, ok bool) {
	p := 0
	if bytes.HasPrefix(b, []byte("\ufeff")) {
		p = 3
	}
	first, rest, found := bytes.Cut(b[p:], []byte("\n"))
	if !found || string(bytes.TrimRight(first, "\r")) != "---" {
		return 0, 0, false
	}
	start = p + len(first) + 1
	off := start
	for len(rest) > 0 {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		if l := string(bytes.TrimRight(line, "\r \t")); l == "---" || l == "..." {
			return start, off, true
		}
		off += len(line) + 1
		rest = next
	}
	return 0, 0, false
}

// lineOffsets returns the byte offset of each line's start.
func lineOffsets(b []byte) []int {
	offs := []int{0}
	for i, c := range b {
		if c == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// scalarSpan locates a scalar node's token in b (line and column from yaml.v3 are 1-based, the
// column counted in characters), returning its byte span and the quote character used.
func scalarSpan(b []byte, lines []int, n *yaml.Node) (off, end int, quote string, ok bool) {
	if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
		return 0, 0, "", false
	}
	off = lines[n.Line-1]
	for i := 1; i < n.Column; i++ {
		if off >= len(b) {
			return 0, 0, "", false
		}
		_, size := utf8.DecodeRune(b[off:])
		off += size
	}
	rest := b[off:]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0 && len(rest) > 0 && rest[0] == '"':
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				return off + 1, off + i, "", true
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0 && len(rest) > 0 && rest[0] == '\'':
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return off + 1, off + i, "", true
			}
		}
	case n.Style == 0 && bytes.HasPrefix(rest, []byte(n.Value)):
		return off, off + len(n.Value), "", true
	}
	return 0, 0, "", false
}
