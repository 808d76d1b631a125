// Package redact keeps secrets out of everything hf2ms shows: Shapes replaces what looks like a
// credential (tokens of the known hubs, Authorization values, signed-URL query parameters, URL
// userinfo), and a Set also replaces the secrets registered with it. The program (the app
// layer) owns one Set holding the tokens it was given; each hub client owns one for the secrets
// it learns (a login's git token and cookies). There is no process-wide registry.
//
// It imports only the standard library.
package redact

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Placeholder replaces what is redacted.
const Placeholder = "[REDACTED]"

// credKeys are the key endings that name a credential.
const credKeys = `token|api_key|apikey|password|passwd|secret`

var (
	reAuthHeader = regexp.MustCompile(`(?i)(\bauthorization"?\s*[:=]\s*"?)[^"\r\n,]+`)
	reBearer     = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/=]{8,}`)
	// Credential-shaped key/value pairs, in the three forms that carry them: JSON ("key": "value"),
	// assignments and query strings (key=value, key="value") and headers or YAML (key: value).
	// The key must stand alone (not the tail of a path such as /etc/passwd), and a value after a
	// colon must look like a credential (a digit in it), so prose like `password: expected ...`
	// is left alone.
	reKVJSON   = regexp.MustCompile(`(?i)("\w*(?:` + credKeys + `)"\s*:\s*")[^"]{4,}"`)
	reKVAssign = regexp.MustCompile(`(?i)(^|[^/.\w"-])([\w-]*(?:` + credKeys + `)\s*=\s*"?)[^\s"'&,;]{4,}`)
	reKVColon  = regexp.MustCompile(`(?i)(^|[^/.\w"-])([\w-]*(?:` + credKeys + `):\s*"?)([^\s"'&,;]{8,})`)
	reTokens   = regexp.MustCompile(`\b(?:hf_[A-Za-z0-9]{10,}|ms-[0-9A-Fa-f]{8}-[0-9A-Fa-f-]{12,}|a[ks]-[A-Za-z0-9]{16,})`)
	reUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s@]+@`)
	reSigQuery = regexp.MustCompile(`(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|expires|policy|key-pair-id|ossaccesskeyid|security-token|x-oss-signature|x-oss-credential|x-oss-security-token|auth_key|x-xet-signature)=)[^&\s#"']*`)
)

// Shapes returns s with anything shaped like a credential replaced by Placeholder:
// Authorization header values, Bearer/Basic credentials, key=value or "key": value pairs whose
// key ends in token, secret, password or api_key, Hugging Face (hf_...), ModelScope (ms-<uuid>)
// and Modal (ak-/as-...) tokens, URL userinfo, and the values of signature query parameters (S3,
// OSS, CloudFront, ModelScope's CDN auth_key, Xet).
func Shapes(s string) string {
	s = reTokens.ReplaceAllString(s, Placeholder)
	s = reAuthHeader.ReplaceAllString(s, "${1}"+Placeholder)
	s = reBearer.ReplaceAllString(s, "${1}${2}"+Placeholder)
	s = reUserinfo.ReplaceAllString(s, "${1}"+Placeholder+"@")
	s = reSigQuery.ReplaceAllString(s, "${1}"+Placeholder)
	s = reKVJSON.ReplaceAllString(s, "${1}"+Placeholder+`"`)
	s = reKVAssign.ReplaceAllString(s, "${1}${2}"+Placeholder)
	s = reKVColon.ReplaceAllStringFunc(s, func(m string) string {
		sub := reKVColon.FindStringSubmatch(m)
		if !strings.ContainsAny(sub[3], "0123456789") {
			return m
		}
		return sub[1] + sub[2] + Placeholder
	})
	return s
}

// Set is a set of secrets to redact. The zero value is empty and ready; a nil *Set redacts
// shapes only. It is safe for concurrent use.
type Set struct {
	mu   sync.RWMutex
	list []string
}

// Add registers secrets. Empty and very short strings are ignored (they would redact
// everything).
func (s *Set) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range secrets {
		x = strings.TrimSpace(x)
		if len(x) < 4 || contains(s.list, x) {
			continue
		}
		s.list = append(s.list, x)
	}
	// Longest first, so a secret containing another is removed whole.
	sort.Slice(s.list, func(i, j int) bool { return len(s.list[i]) > len(s.list[j]) })
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// String returns x with every registered secret and every credential shape replaced.
func (s *Set) String(x string) string {
	if s != nil {
		s.mu.RLock()
		for _, secret := range s.list {
			x = strings.ReplaceAll(x, secret, Placeholder)
		}
		s.mu.RUnlock()
	}
	return Shapes(x)
}
