package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDemoFirstFrame times `tokentop demo` from process start to its
// first full frame (every demo session on screen) in a pseudo-terminal:
// fake servers started, vault filled through real logins and refreshes,
// dashboard drawn. Target: under 1 s.
func BenchmarkDemoFirstFrame(b *testing.B) {
	bin := tokentopBinary(b)
	for b.Loop() {
		dir := b.TempDir()
		cmd := exec.Command(bin, "demo")
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), envKeyFile + "=" + filepath.Join(dir, "key")}
		start := time.Now()
		s := startScreen(b, cmd, 100, 30)
		s.waitFor("the first frame", 20*time.Second, "demo-pathstack", "demo-expiring", "demo-galileo", "demo-revoked", "demo-invalid", "demo-down")
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/first-frame")
		b.StopTimer()
		s.press("q")
		s.wait(10 * time.Second)
		b.StartTimer()
	}
}
