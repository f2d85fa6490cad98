package cli

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
	var total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer() // the folder and command are the benchmark's, not the demo's
		dir := b.TempDir()
		cmd := exec.Command(bin, "demo")
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), envKeyFile + "=" + filepath.Join(dir, "key")}
		b.StartTimer()
		start := time.Now()
		s := startScreen(b, cmd, 100, 30)
		s.waitFor("the first frame", 20*time.Second, "demo-pathstack", "demo-expiring", "demo-galileo", "demo-revoked", "demo-invalid", "demo-down")
		total += time.Since(start)
		n++
		b.StopTimer()
		s.press("q")
		s.wait(10 * time.Second)
		b.StartTimer()
	}
	// The mean over every iteration, not the last one's.
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms/first-frame")
}
