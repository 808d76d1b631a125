package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSetString(t *testing.T) {
	var set Set
	set.Add("ms-0123456789abcdef")
	set.Add("", "abc") // ignored, would otherwise redact everything
	tests := []struct{ in, want string }{
		{"token ms-0123456789abcdef rejected", "token [REDACTED] rejected"},
		{"got hf_AbCdEfGhIjKlMnOpQrStUv back", "got [REDACTED] back"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization: [REDACTED]"},
		{"sent bearer eyJhbGciOiJIUzI1NiJ9.payload.sig twice", "sent bearer [REDACTED] twice"},
		{`Get "https://alice:pa55word@hub.example/x": EOF`, `Get "https://[REDACTED]@hub.example/x": EOF`},
		{"https://s3.example/b?X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef&partNumber=2",
			"https://s3.example/b?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&partNumber=2"},
		{"https://cdn-lfs-cn-1.modelscope.cn/prod/x?auth_key=1700-abc-0-def&filename=a",
			"https://cdn-lfs-cn-1.modelscope.cn/prod/x?auth_key=[REDACTED]&filename=a"},
		{"https://us.aws.cdn.hf.co/x?Expires=1&Policy=eyJ&Signature=abc~&Key-Pair-Id=K2",
			"https://us.aws.cdn.hf.co/x?Expires=[REDACTED]&Policy=[REDACTED]&Signature=[REDACTED]&Key-Pair-Id=[REDACTED]"},
		{"Authorization: token ghp_abcdefgh12345678", "Authorization: [REDACTED]"},
		{`{"AccessToken": "7f3e9a1b2c", "Username": "alice"}`, `{"AccessToken": "[REDACTED]", "Username": "alice"}`},
		{"MODAL_TOKEN_SECRET=as-AbCdEfGhIjKlMnOpQr ok", "MODAL_TOKEN_SECRET=[REDACTED] ok"},
		{"id ak-AbCdEfGhIjKlMnOpQr", "id [REDACTED]"},
		{"MODELSCOPE_API_TOKEN ms-00000000-0000-0000-0000-000000000000", "MODELSCOPE_API_TOKEN [REDACTED]"},
		{"https://hub.example?who=a@b", "https://hub.example?who=a@b"},
		{"nothing secret here: 404 Not Found", "nothing secret here: 404 Not Found"},
		{"invalid token provided; tokens: 3; hf_transfer off", "invalid token provided; tokens: 3; hf_transfer off"},
		// Prose after a credential-looking word is not a credential.
		{`plan: "../../etc/passwd": expected namespace/name`, `plan: "../../etc/passwd": expected namespace/name`},
		{"invalid password: expected at least 8 characters", "invalid password: expected at least 8 characters"},
		{"x-api-token: 7f3e9a1b2c4d now", "x-api-token: [REDACTED] now"},
		{`token="7f3e9a1b2c" sent`, `token="[REDACTED]" sent`},
		{"url?access_token=abcd1234&x=1", "url?access_token=[REDACTED]&x=1"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, set.String(tt.in))
	}
}

func TestNilSetRedactsShapesOnly(t *testing.T) {
	var s *Set
	require.Equal(t, "got [REDACTED]", s.String("got hf_AbCdEfGhIjKlMnOpQrStUv"))
	require.Equal(t, "plain ms-01234", s.String("plain ms-01234"))
}
