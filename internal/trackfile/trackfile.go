// Package trackfile reads keepalived's track_file values, the one way
// vrrpd (standalone) and checkd both read them.
package trackfile

import (
	"os"
	"strconv"
	"strings"
)

// Read returns the number at the start of a track file, as keepalived's
// strtol does; a missing file or text that is not a number reads as 0.
func Read(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := strings.TrimSpace(string(data))
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || (end == 0 && (s[end] == '-' || s[end] == '+'))) {
		end++
	}
	v, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0
	}
	return v
}
