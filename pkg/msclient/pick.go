package msclient

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// ModelScope's answers name the same field differently from one endpoint and one site version
// to the next ("Name", "name", "username"; numbers as numbers or as strings), so the client
// reads fields by trying a list of keys in order, and each pick* tolerates every encoding seen.

// pick returns the value decoded from the first of keys present in m that decode accepts.
func pick[T any](m map[string]json.RawMessage, decode func(json.RawMessage) (T, bool), keys ...string) (T, bool) {
	for _, k := range keys {
		if raw, ok := m[k]; ok {
			if v, ok := decode(raw); ok {
				return v, true
			}
		}
	}
	var zero T
	return zero, false
}

// pickString returns the first of keys present in m as a non-empty string (numbers are rendered).
func pickString(m map[string]json.RawMessage, keys ...string) string {
	s, _ := pick(m, decodeString, keys...)
	return s
}

func decodeString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil && n != "" {
		return n.String(), true
	}
	return "", false
}

// pickNames returns the first of keys present in m as a list of names: a list of strings, or a
// list of objects each naming itself under one of the usual keys.
func pickNames(m map[string]json.RawMessage, keys ...string) []string {
	names, _ := pick(m, decodeNames, keys...)
	return names
}

func decodeNames(raw json.RawMessage) ([]string, bool) {
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss, true
	}
	var objs []map[string]json.RawMessage
	if json.Unmarshal(raw, &objs) != nil {
		return nil, false
	}
	var out []string
	for _, o := range objs {
		if n := pickString(o, "name", "Name", "path", "Path", "username"); n != "" {
			out = append(out, strings.TrimSpace(n))
		}
	}
	return out, true
}

// pickInt returns the first of keys present in m as an integer (numbers or numeric strings).
func pickInt(m map[string]json.RawMessage, keys ...string) int64 {
	n, _ := pick(m, decodeInt, keys...)
	return n
}

func decodeInt(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(s)
		}
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return int64(f), true
	}
	return 0, false
}

// pickBool returns the first of keys present in m that is a JSON boolean, and whether there was one.
func pickBool(m map[string]json.RawMessage, keys ...string) (bool, bool) {
	return pick(m, func(raw json.RawMessage) (bool, bool) {
		var b bool
		return b, json.Unmarshal(raw, &b) == nil
	}, keys...)
}
