// Package version holds the hf2ms version, set by release builds with
// -ldflags "-X github.com/linaqruf/hf2ms/internal/version.Version=vX.Y.Z". It imports nothing.
package version

// Version is the hf2ms version ("dev" for a build from source).
var Version = "dev"

// UserAgent is the User-Agent hf2ms's HTTP clients send by default.
func UserAgent() string { return "hf2ms/" + Version }
