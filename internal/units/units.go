// Package units parses and prints the byte sizes and rates hf2ms shows and accepts (flags,
// Action inputs, plans, progress, job summaries). It imports only the standard library.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize parses sizes such as "20GiB", "512MB", "1.5G" or a plain byte count.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := float64(1)
	for _, u := range []struct {
		suffix string
		m      float64
	}{
		{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.m
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (examples: 20GiB, 512MB, 1073741824)", s)
	}
	return int64(v * mult), nil
}

// Bytes renders n in binary units ("512 B", "1.5 GiB").
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// Rate renders a rate in binary units a second.
func Rate(bytesPerSec float64) string { return Bytes(int64(bytesPerSec)) + "/s" }
