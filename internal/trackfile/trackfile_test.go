package trackfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		content string
		want    int64
	}{
		{"5\n", 5}, {"  -30 \n", -30}, {"+7", 7}, {"5 words", 5}, {"words", 0}, {"", 0}, {"99999999999999999999", 0},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := Read(p); got != tt.want {
			t.Errorf("Read(%q) = %d, want %d", tt.content, got, tt.want)
		}
	}
	if got := Read(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file reads %d", got)
	}
}
