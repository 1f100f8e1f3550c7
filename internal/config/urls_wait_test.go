package config

import (
	"testing"
	"time"
)

func TestParseRedisURLWait(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		timeout time.Duration
		wantErr bool
	}{
		{"redis://h:1", 0, 0, false},
		{"redis://h:1?wait=1", 1, 0, false},
		{"redis+sentinel://h:1/m?wait=1&wait_timeout=250ms", 1, 250 * time.Millisecond, false},
		{"redis+cluster://h:1?wait=1", 1, 0, false},
		{"redis+cluster://h:1?wait=0", 0, 0, false},
		{"redis://h:1?wait=x", 0, 0, true},
		{"redis://h:1?wait=1&wait_timeout=2h", 0, 0, true},
		{"redis://h:1?wait=1&wait_timeout=3s", 0, 0, true}, // beyond the store's read timeout
		{"redis://h:1?wait=1&wait_timeout=2s", 1, 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRedisURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (got.WaitReplicas != tt.n || got.WaitTimeout != tt.timeout) {
				t.Fatalf("wait %d, timeout %s; want %d, %s", got.WaitReplicas, got.WaitTimeout, tt.n, tt.timeout)
			}
		})
	}
}
