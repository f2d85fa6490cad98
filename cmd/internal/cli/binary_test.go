package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary built for end-to-end tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// tokentopBinary builds the real binary once per test run (CGO off, like a
// release) for tests that run it as a separate process.
func tokentopBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tokentop-bin-")
		if buildErr != nil {
			return
		}
		// The three programs, side by side as go install leaves them:
		// tokentop runs the other two beside it.
		binPath = filepath.Join(buildDir, "tokentop")
		cmd := exec.Command("go", "build", "-o", buildDir+string(filepath.Separator), "../../tokentop", "../../tokentop-dashboard", "../../tokentop-postgres")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = err
			binPath = out.String()
		}
	})
	if buildErr != nil {
		t.Fatalf("build tokentop: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// command runs the binary with e's vault and key, stdin as given.
func (e *env) command(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(tokentopBinary(e.t), args...)
	cmd.Env = e.processEnv()
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// processEnv is the environment of a tokentop process on e's vault and key,
// with extra ("NAME=value") added.
func (e *env) processEnv(extra ...string) []string {
	return append([]string{"HOME=" + e.dir, "PATH=" + os.Getenv("PATH"), envVault + "=" + e.vault, envKeyFile + "=" + e.key}, extra...)
}
