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
	reAuthHeader = regexp.MustCompile(`(?i)(\bauthorization"?\s*[:=]\s*"?)[^"\r\n,]+`)
	reBearer     = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/=]{8,}`)
	reKeyValue   = regexp.MustCompile(`(?i)\b(\w*(?:token|api_key|apikey|password|passwd|secret))("?\s*[:=]\s*"?)[^\s"'&,;]{4,}`)
	reTokens     = regexp.MustCompile(`\b(?:hf_[A-Za-z0-9]{10,}|ms-[0-9A-Fa-f]{8}-[0-9A-Fa-f-]{12,}|a[ks]-[A-Za-z0-9]{16,})`)
	reUserinfo   = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s@]+@`)
	reSigQuery   = regexp.MustCompile(`(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|expires|policy|key-pair-id|ossaccesskeyid|security-token|x-oss-signature|x-oss-credential|x-oss-security-token|auth_key|x-xet-signature)=)[^&\s#"']*`)
)

// Redact returns s with every registered secret, and anything shaped like a credential, replaced
// by "[REDACTED]": Authorization header values, Bearer/Basic credentials, key=value or "key": value
// pairs whose key ends in token, secret, password or api_key, Hugging Face (hf_...), ModelScope
// (ms-<uuid>) and Modal (ak-/as-...) tokens, URL userinfo, and the values of signature query
// parameters (S3, OSS, CloudFront, ModelScope CDN auth_key).
func Redact(s string) string {
	secrets.mu.RLock()
	for _, x := range secrets.list {
		s = strings.ReplaceAll(s, x, redacted)
	}
	secrets.mu.RUnlock()
	s = reTokens.ReplaceAllString(s, redacted)
	s = reAuthHeader.ReplaceAllString(s, "${1}"+redacted)
	s = reBearer.ReplaceAllString(s, "${1}${2}"+redacted)
	s = reUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	s = reSigQuery.ReplaceAllString(s, "${1}"+redacted)
	s = reKeyValue.ReplaceAllString(s, "${1}${2}"+redacted)
	return s
}
