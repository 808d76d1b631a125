package httpx

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

var secrets struct {
	mu   sync.RWMutex
	list []string
}

// RegisterSecret adds s to the process-wide set of secrets Redact removes. Clients call it for
// every token they hold. Empty and very short strings are ignored (they would redact everything).
func RegisterSecret(s string) {
	s = strings.TrimSpace(s)
	if len(s) < 4 {
		return
	}
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	for _, x := range secrets.list {
		if x == s {
			return
		}
	}
	secrets.list = append(secrets.list, s)
	// Longest first so a secret containing another is removed whole.
	sort.Slice(secrets.list, func(i, j int) bool { return len(secrets.list[i]) > len(secrets.list[j]) })
}

const redacted = "[REDACTED]"

var (
	reBearer   = regexp.MustCompile(`(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9\-._~+/=]{8,}`)
	reHFToken  = regexp.MustCompile(`\bhf_[A-Za-z0-9]{10,}`)
	reUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@`)
	reSigQuery = regexp.MustCompile(`(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|expires|policy|key-pair-id|ossaccesskeyid|security-token|x-oss-signature|x-oss-credential|x-oss-security-token|auth_key|x-xet-signature)=)[^&\s#"']*`)
)

// Redact returns s with every registered secret, and anything shaped like a bearer token, an hf_
// token, URL userinfo or a signature query value, replaced by "[REDACTED]".
func Redact(s string) string {
	secrets.mu.RLock()
	for _, x := range secrets.list {
		s = strings.ReplaceAll(s, x, redacted)
	}
	secrets.mu.RUnlock()
	s = reHFToken.ReplaceAllString(s, redacted)
	s = reBearer.ReplaceAllString(s, "${1}${2}"+redacted)
	s = reUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	s = reSigQuery.ReplaceAllString(s, "${1}"+redacted)
	return s
}
